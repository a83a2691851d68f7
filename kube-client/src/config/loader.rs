//! Loading kubeconfig files as kubectl does: the `$KUBECONFIG` list, `~/.kube/config`,
//! relative paths and the merge rules.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::kubeconfig::{ExecConfig, Kubeconfig, NamedExtension, Preferences};

/// The auth provider setting naming the issuer's CA file.
const IDP_CERTIFICATE_AUTHORITY: &str = "idp-certificate-authority";

/// The environment variable holding a list of kubeconfig files.
pub const KUBECONFIG_ENV: &str = "KUBECONFIG";

/// Splits a `$KUBECONFIG` value into paths: separated by `:` (`;` on Windows), empty entries
/// skipped, repeated paths kept once (the first time).
///
/// ```
/// # #[cfg(unix)] {
/// use std::path::PathBuf;
/// use kube_client::config::kubeconfig_paths;
///
/// let paths = kubeconfig_paths("/a/config::/b/config:/a/config".as_ref());
/// assert_eq!(paths, vec![PathBuf::from("/a/config"), PathBuf::from("/b/config")]);
/// # }
/// ```
pub fn kubeconfig_paths(value: &OsStr) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    std::env::split_paths(value)
        .filter(|p| !p.as_os_str().is_empty())
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

/// `$HOME/.kube/config` (`%USERPROFILE%` on Windows when `HOME` is unset), if a home is known.
pub fn default_kubeconfig_path() -> Option<PathBuf> {
    default_path_with(&|name| std::env::var_os(name))
}

pub(crate) fn default_path_with(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let home = env("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| if cfg!(windows) { env("USERPROFILE").filter(|h| !h.is_empty()) } else { None })?;
    Some(PathBuf::from(home).join(".kube").join("config"))
}

/// Joins a relative path onto `base`; leaves absolute and empty paths alone.
fn resolve(base: &Path, path: &mut PathBuf) {
    if !path.as_os_str().is_empty() && path.is_relative() {
        *path = base.join(&*path);
    }
}

/// The directory relative paths in the kubeconfig at `path` are resolved against: the file's
/// directory, made absolute against the current directory now, so that files read later (token
/// files, exec commands) do not depend on the current directory at that time.
fn base_dir(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path);
    if let Err(error) = &absolute {
        tracing::debug!(path = %path.display(), %error, "cannot make the kubeconfig path absolute");
    }
    let absolute = absolute.unwrap_or_else(|_| path.to_owned());
    match absolute.parent() {
        // a path like "config" has parent "": resolve against the current directory, as kubectl does
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The text of a kubeconfig file: UTF-16 when it starts with a UTF-16 byte-order mark, else
/// UTF-8 (a UTF-8 byte-order mark is dropped when parsed).
fn decode_text(bytes: &[u8]) -> io::Result<String> {
    let utf16 = |units: Vec<u16>| {
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("invalid UTF-16: {e}")))
    };
    let units = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        if rest.len() % 2 != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "invalid UTF-16: odd number of bytes"));
        }
        Ok(rest.chunks_exact(2).map(|c| from([c[0], c[1]])).collect::<Vec<u16>>())
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(units(rest, u16::from_le_bytes)?),
        [0xFE, 0xFF, rest @ ..] => utf16(units(rest, u16::from_be_bytes)?),
        _ => String::from_utf8(bytes.to_vec()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
    }
}

/// Whether an exec command names a file (has a path separator) rather than a program in `$PATH`.
fn has_separator(command: &str) -> bool {
    command.contains('/') || (cfg!(windows) && command.contains('\\'))
}

impl Kubeconfig {
    /// Reads and parses one kubeconfig file (YAML or JSON), resolves its relative paths against
    /// the file's directory and records the file as the source of every entry.
    ///
    /// The file is UTF-8, with or without a byte-order mark, or UTF-16 with a byte-order mark
    /// (little- or big-endian, as Windows PowerShell 5 writes files), as kubectl accepts.
    /// A missing file is an error naming the path, as is a file naming a cluster, user or
    /// context twice.
    pub fn read_from(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read(path)
            .and_then(|bytes| decode_text(&bytes))
            .map_err(|source| Error::ReadKubeconfig { path: path.to_owned(), source })?;
        let mut kc = Kubeconfig::parse(&text, &path.display().to_string())?;
        kc.resolve_relative_paths(&base_dir(path));
        for c in &mut kc.clusters {
            c.source_file = Some(path.to_owned());
        }
        for c in &mut kc.contexts {
            c.source_file = Some(path.to_owned());
        }
        for u in &mut kc.users {
            u.source_file = Some(path.to_owned());
        }
        kc.source_files = vec![path.to_owned()];
        tracing::debug!(path = %path.display(), "loaded kubeconfig");
        Ok(kc)
    }

    /// Reads several kubeconfig files and merges them, the first file taking precedence.
    ///
    /// Files that do not exist are skipped, as kubectl does for `$KUBECONFIG`; any other error
    /// (unreadable, malformed) fails the whole load. With no file at all, the result is empty.
    pub fn read_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        let mut merged: Option<Kubeconfig> = None;
        for path in paths {
            let path = path.as_ref();
            let kc = match Kubeconfig::read_from(path) {
                Ok(kc) => kc,
                Err(Error::ReadKubeconfig { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                    tracing::debug!(path = %path.display(), "kubeconfig in the list does not exist; skipped");
                    continue;
                }
                Err(e) => return Err(e),
            };
            merged = Some(match merged {
                Some(m) => m.merge(kc),
                None => kc,
            });
        }
        Ok(merged.unwrap_or_default())
    }

    /// Loads the files listed in `$KUBECONFIG`, or returns `None` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_env_with(&|name| std::env::var_os(name))
    }

    pub(crate) fn from_env_with(env: &dyn Fn(&str) -> Option<OsString>) -> Result<Option<Self>> {
        match env(KUBECONFIG_ENV) {
            Some(value) if !kubeconfig_paths(&value).is_empty() => {
                Kubeconfig::read_paths(&kubeconfig_paths(&value)).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Loads the kubeconfig kubectl would use: the files in `$KUBECONFIG` if it is set, else
    /// `~/.kube/config` (which must exist).
    pub fn read() -> Result<Self> {
        Self::read_with(&|name| std::env::var_os(name))
    }

    pub(crate) fn read_with(env: &dyn Fn(&str) -> Option<OsString>) -> Result<Self> {
        if let Some(kc) = Self::from_env_with(env)? {
            return Ok(kc);
        }
        let path = default_path_with(env).ok_or_else(|| Error::ReadKubeconfig {
            path: PathBuf::from("~/.kube/config"),
            source: io::Error::new(io::ErrorKind::NotFound, "$HOME is not set"),
        })?;
        Kubeconfig::read_from(path)
    }

    /// Makes the relative paths of this kubeconfig absolute against `base` (the directory of the
    /// file it was read from): `certificate-authority`, `client-certificate`, `client-key`,
    /// `tokenFile`, the auth provider's `idp-certificate-authority`, and the exec `command` when
    /// it contains a path separator.
    ///
    /// [`Kubeconfig::read_from`] does this already.
    pub fn resolve_relative_paths(&mut self, base: &Path) {
        for cluster in &mut self.clusters {
            if let Some(p) = &mut cluster.cluster.certificate_authority {
                resolve(base, p);
            }
        }
        for user in &mut self.users {
            let auth = &mut user.user;
            for p in [&mut auth.client_certificate, &mut auth.client_key, &mut auth.token_file]
                .into_iter()
                .flatten()
            {
                resolve(base, p);
            }
            if let Some(ca) =
                auth.auth_provider.as_mut().and_then(|p| p.config.get_mut(IDP_CERTIFICATE_AUTHORITY))
            {
                let mut path = PathBuf::from(&*ca);
                resolve(base, &mut path);
                *ca = path.to_string_lossy().into_owned();
            }
            let relative_command =
                |e: &&mut ExecConfig| has_separator(&e.command) && Path::new(&e.command).is_relative();
            if let Some(exec) = auth.exec.as_mut().filter(relative_command) {
                exec.command = base.join(&exec.command).to_string_lossy().into_owned();
            }
        }
    }

    /// Merges `other` into `self`, `self` taking precedence, by kubectl's rules:
    /// a cluster, user, context or extension name defined by `self` hides the same name in
    /// `other`; the first non-empty `current-context`, `apiVersion`, `kind` and preference wins;
    /// unknown top-level fields are merged the same way.
    ///
    /// ```
    /// use kube_client::config::Kubeconfig;
    ///
    /// let first = Kubeconfig::from_yaml("clusters: [{name: a, cluster: {server: https://one}}]")?;
    /// let second = Kubeconfig::from_yaml(
    ///     "clusters: [{name: a, cluster: {server: https://two}}, {name: b, cluster: {server: https://b}}]\n\
    ///      current-context: b",
    /// )?;
    /// let merged = first.merge(second);
    /// assert_eq!(merged.cluster("a").unwrap().cluster.server.as_deref(), Some("https://one"));
    /// assert_eq!(merged.cluster("b").unwrap().cluster.server.as_deref(), Some("https://b"));
    /// assert_eq!(merged.current_context.as_deref(), Some("b"));
    /// # Ok::<(), kube_client::config::Error>(())
    /// ```
    #[must_use]
    pub fn merge(mut self, other: Kubeconfig) -> Kubeconfig {
        fn first_set(mine: &mut Option<String>, theirs: Option<String>) {
            if mine.as_deref().is_none_or(str::is_empty) && theirs.as_deref().is_some_and(|t| !t.is_empty()) {
                *mine = theirs;
            }
        }
        fn append_new<T>(mine: &mut Vec<T>, theirs: Vec<T>, name: impl Fn(&T) -> &str) {
            let known: HashSet<String> = mine.iter().map(|x| name(x).to_owned()).collect();
            mine.extend(theirs.into_iter().filter(|x| !known.contains(name(x))));
        }
        fn merge_extensions(mine: &mut Vec<NamedExtension>, theirs: Vec<NamedExtension>) {
            append_new(mine, theirs, |e| &e.name);
        }

        first_set(&mut self.api_version, other.api_version);
        first_set(&mut self.kind, other.kind);
        first_set(&mut self.current_context, other.current_context);
        append_new(&mut self.clusters, other.clusters, |c| &c.name);
        append_new(&mut self.users, other.users, |u| &u.name);
        append_new(&mut self.contexts, other.contexts, |c| &c.name);
        merge_extensions(&mut self.extensions, other.extensions);
        self.preferences = match (self.preferences.take(), other.preferences) {
            (Some(mut mine), Some(theirs)) => {
                let Preferences { colors, extensions, other } = theirs;
                mine.colors = mine.colors.or(colors);
                merge_extensions(&mut mine.extensions, extensions);
                for (k, v) in other {
                    mine.other.entry(k).or_insert(v);
                }
                Some(mine)
            }
            (mine, theirs) => mine.or(theirs),
        };
        for (k, v) in other.other {
            self.other.entry(k).or_insert(v);
        }
        for file in other.source_files {
            if !self.source_files.contains(&file) {
                self.source_files.push(file);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn env_of(vars: &[(&str, OsString)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        move |name| map.get(name).cloned()
    }

    const FIRST: &str = "
current-context: ''
clusters:
- name: shared
  cluster: {server: https://first}
- name: only-first
  cluster: {server: https://only-first}
users:
- name: shared
  user: {token: first-token}
contexts:
- name: shared
  context: {cluster: shared, user: shared}
preferences: {colors: true}
extensions: [{name: e, extension: first}]
";
    const SECOND: &str = "
current-context: from-second
clusters:
- name: shared
  cluster: {server: https://second}
- name: only-second
  cluster: {server: https://only-second}
users:
- name: shared
  user: {token: second-token}
- name: second-user
  user: {username: u}
contexts:
- name: shared
  context: {cluster: only-second}
- name: from-second
  context: {cluster: only-second, user: second-user}
preferences: {colors: false, extensions: [{name: p, extension: 1}]}
extensions: [{name: e, extension: second}, {name: f, extension: second}]
x-top: second
";
    const THIRD: &str = "
current-context: from-third
clusters:
- name: only-second
  cluster: {server: https://third}
- name: only-third
  cluster: {server: https://only-third}
contexts:
- name: from-third
  context: {cluster: only-third}
x-top: third
";

    #[test]
    fn splits_kubeconfig_env_value() {
        let sep = if cfg!(windows) { ";" } else { ":" };
        let value = ["/a", "", "/b", "/a", "/c"].join(sep);
        assert_eq!(
            kubeconfig_paths(value.as_ref()),
            vec![PathBuf::from("/a"), PathBuf::from("/b"), PathBuf::from("/c")]
        );
        assert!(kubeconfig_paths("".as_ref()).is_empty());
    }

    #[test]
    fn merges_two_files_first_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a", FIRST);
        let b = write(dir.path(), "b", SECOND);
        let kc = Kubeconfig::read_paths(&[&a, &b]).unwrap();

        assert_eq!(kc.cluster("shared").unwrap().cluster.server.as_deref(), Some("https://first"));
        assert_eq!(kc.cluster("shared").unwrap().source_file.as_ref(), Some(&a));
        assert_eq!(kc.cluster("only-second").unwrap().source_file.as_ref(), Some(&b));
        let names: Vec<_> = kc.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["shared", "only-first", "only-second"]);
        assert_eq!(kc.user("shared").unwrap().user.token.as_deref(), Some("first-token"));
        assert!(kc.user("second-user").is_some());
        assert_eq!(kc.context("shared").unwrap().context.cluster, "shared");
        // the first file's current-context is empty, so the second's wins
        assert_eq!(kc.current_context.as_deref(), Some("from-second"));
        let prefs = kc.preferences.as_ref().unwrap();
        assert_eq!(prefs.colors, Some(true));
        assert_eq!(prefs.extensions[0].name, "p");
        let ext: Vec<_> = kc.extensions.iter().map(|e| (e.name.as_str(), e.extension.clone())).collect();
        assert_eq!(ext, [("e", "first".into()), ("f", "second".into())]);
        assert_eq!(kc.source_files, vec![a, b]);
    }

    #[test]
    fn merges_three_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a", FIRST);
        let b = write(dir.path(), "b", SECOND);
        let c = write(dir.path(), "c", THIRD);
        let kc = Kubeconfig::read_paths(&[&a, &b, &c]).unwrap();
        assert_eq!(kc.cluster("only-second").unwrap().cluster.server.as_deref(), Some("https://only-second"));
        assert_eq!(kc.cluster("only-third").unwrap().cluster.server.as_deref(), Some("https://only-third"));
        assert_eq!(kc.current_context.as_deref(), Some("from-second"));
        assert_eq!(kc.other["x-top"], "second");

        // reversed order: the third file's current-context comes first now
        let kc = Kubeconfig::read_paths(&[&c, &b, &a]).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("from-third"));
        assert_eq!(kc.cluster("only-second").unwrap().cluster.server.as_deref(), Some("https://third"));
        assert_eq!(kc.cluster("shared").unwrap().cluster.server.as_deref(), Some("https://second"));
        assert_eq!(kc.user("shared").unwrap().user.token.as_deref(), Some("second-token"));
        assert_eq!(kc.preferences.as_ref().unwrap().colors, Some(false));
        assert_eq!(kc.other["x-top"], "third");
    }

    #[test]
    fn missing_files_in_a_list_are_skipped_but_a_single_missing_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a", FIRST);
        let missing = dir.path().join("missing");
        let kc = Kubeconfig::read_paths(&[&missing, &a]).unwrap();
        assert!(kc.cluster("shared").is_some());
        assert_eq!(kc.source_files, vec![a]);
        assert_eq!(Kubeconfig::read_paths(&[&missing]).unwrap(), Kubeconfig::default());

        let err = Kubeconfig::read_from(&missing).unwrap_err();
        assert!(matches!(err, Error::ReadKubeconfig { .. }));
        assert!(err.to_string().contains(&missing.display().to_string()), "{err}");
    }

    #[test]
    fn malformed_file_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad", "clusters: [\n");
        let good = write(dir.path(), "good", FIRST);
        let err = Kubeconfig::read_paths(&[&good, &bad]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("failed to parse kubeconfig {}:", bad.display())), "{msg}");
        let json = write(dir.path(), "bad.json", "{\"clusters\": 3}");
        let err = Kubeconfig::read_from(&json).unwrap_err();
        assert!(err.to_string().contains(&json.display().to_string()), "{err}");
    }

    #[test]
    fn reads_utf16_files_with_a_byte_order_mark_and_utf8_with_one() {
        let dir = tempfile::tempdir().unwrap();
        let utf16 = |big_endian: bool| {
            let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            for unit in FIRST.encode_utf16() {
                bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
            }
            bytes
        };
        let utf8_bom = [&[0xEF, 0xBB, 0xBF][..], FIRST.as_bytes()].concat();
        for (name, bytes) in [("le", utf16(false)), ("be", utf16(true)), ("utf8-bom", utf8_bom)] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let kc = Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                kc.cluster("only-first").unwrap().cluster.server.as_deref(),
                Some("https://only-first")
            );
        }
        // UTF-16 cut in the middle of a code unit, or with a lone surrogate
        for (name, bytes) in [("odd", vec![0xFF, 0xFE, b'a']), ("surrogate", vec![0xFF, 0xFE, 0x00, 0xD8])] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let err = Kubeconfig::read_from(&path).unwrap_err();
            assert!(err.to_string().contains("invalid UTF-16"), "{err}");
            assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        }
    }

    #[test]
    fn a_file_with_duplicate_names_is_refused_naming_file_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(dir.path(), "good", FIRST);
        let bad = write(
            dir.path(),
            "bad",
            "users: [{name: a, user: {token: supersecret}}, {name: b}, {name: a, user: {token: other}}]\n",
        );
        let err = Kubeconfig::read_paths(&[&good, &bad]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("failed to load kubeconfig {}: user name \"a\" is defined more than once", bad.display())
        );
        // the same name in two files is the merge rule, not a duplicate
        let other = write(dir.path(), "other", FIRST);
        assert!(Kubeconfig::read_paths(&[&good, &other]).is_ok());
    }

    #[test]
    fn reads_json_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "config.json",
            r#"{"apiVersion": "v1", "clusters": [{"name": "c", "cluster": {"server": "https://c", "x": 1}}]}"#,
        );
        let kc = Kubeconfig::read_from(&path).unwrap();
        assert_eq!(kc.cluster("c").unwrap().cluster.other["x"], 1);
    }

    #[test]
    fn relative_paths_resolve_against_their_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let a = write(
            dir.path(),
            "a",
            "clusters: [{name: a, cluster: {server: https://a, certificate-authority: ca.crt}}]\n\
             users:\n\
             - name: a\n  user:\n    client-certificate: certs/a.crt\n    client-key: /abs/a.key\n\
             \x20   tokenFile: tok\n    exec: {command: ./bin/plugin}\n\
             - name: path-lookup\n  user: {exec: {command: aws}}\n\
             - name: oidc\n  user: {auth-provider: {name: oidc, config: {idp-certificate-authority: idp/ca.crt}}}\n\
             - name: oidc-abs\n  user: {auth-provider: {name: oidc, config: {idp-certificate-authority: /abs/ca.crt}}}\n\
             - name: oidc-empty\n  user: {auth-provider: {name: oidc, config: {idp-certificate-authority: ''}}}\n",
        );
        let b = write(
            &sub,
            "b",
            "clusters: [{name: b, cluster: {server: https://b, certificate-authority: ../b-ca.crt}}]\n",
        );
        let kc = Kubeconfig::read_paths(&[&a, &b]).unwrap();
        assert_eq!(kc.cluster("a").unwrap().cluster.certificate_authority, Some(dir.path().join("ca.crt")));
        assert_eq!(kc.cluster("b").unwrap().cluster.certificate_authority, Some(sub.join("../b-ca.crt")));
        let user = &kc.user("a").unwrap().user;
        assert_eq!(user.client_certificate, Some(dir.path().join("certs/a.crt")));
        assert_eq!(user.client_key, Some(PathBuf::from("/abs/a.key")));
        assert_eq!(user.token_file, Some(dir.path().join("tok")));
        let command = PathBuf::from(&user.exec.as_ref().unwrap().command);
        assert_eq!(command, dir.path().join("./bin/plugin"));
        assert_eq!(kc.user("path-lookup").unwrap().user.exec.as_ref().unwrap().command, "aws");
        let idp_ca = |name: &str| {
            kc.user(name).unwrap().user.auth_provider.as_ref().unwrap().config[IDP_CERTIFICATE_AUTHORITY]
                .clone()
        };
        assert_eq!(PathBuf::from(idp_ca("oidc")), dir.path().join("idp/ca.crt"));
        assert_eq!(idp_ca("oidc-abs"), "/abs/ca.crt");
        assert_eq!(idp_ca("oidc-empty"), "");
    }

    #[test]
    fn base_directory_is_absolute() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(base_dir(Path::new("config")), cwd);
        assert_eq!(base_dir(Path::new("sub/config")), cwd.join("sub"));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(base_dir(&dir.path().join("config")), dir.path());

        // a relative kubeconfig path gives absolute paths, which a later chdir does not break
        let mut kc =
            Kubeconfig::from_yaml("users: [{name: u, user: {tokenFile: tok, exec: {command: ./plugin}}}]")
                .unwrap();
        kc.resolve_relative_paths(&base_dir(Path::new("kubeconfig")));
        let user = &kc.user("u").unwrap().user;
        assert_eq!(user.token_file, Some(cwd.join("tok")));
        assert!(Path::new(&user.exec.as_ref().unwrap().command).is_absolute());
    }

    #[test]
    fn kubeconfig_env_and_default_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a", FIRST);
        let b = write(dir.path(), "b", SECOND);
        let list = std::env::join_paths([&a, &dir.path().join("missing"), &b]).unwrap();

        let env = env_of(&[("KUBECONFIG", list)]);
        let kc = Kubeconfig::from_env_with(&env).unwrap().unwrap();
        assert_eq!(kc.source_files, vec![a.clone(), b]);
        assert_eq!(Kubeconfig::read_with(&env).unwrap(), kc);

        assert!(Kubeconfig::from_env_with(&env_of(&[("KUBECONFIG", "".into())])).unwrap().is_none());
        assert!(Kubeconfig::from_env_with(&env_of(&[])).unwrap().is_none());

        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".kube")).unwrap();
        let env = env_of(&[("HOME", home.clone().into_os_string())]);
        assert_eq!(default_path_with(&env), Some(home.join(".kube/config")));
        let err = Kubeconfig::read_with(&env).unwrap_err();
        assert!(err.to_string().contains(".kube/config"), "{err}");
        std::fs::copy(&a, home.join(".kube/config")).unwrap();
        assert!(Kubeconfig::read_with(&env).unwrap().cluster("shared").is_some());
        assert_eq!(default_path_with(&env_of(&[])), None);
    }
}
