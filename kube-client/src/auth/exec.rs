//! Running exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1`).
//!
//! The plugin gets an `ExecCredential` request in `KUBERNETES_EXEC_INFO` and prints an
//! `ExecCredential` with a `status` holding a token and/or a client certificate.

use std::fmt;
use std::io::IsTerminal as _;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use crate::config::{
    ExecConfig, ExecInteractiveMode, Identity, SecretString, certificates_from_pem, private_key_from_pem,
};

/// `client.authentication.k8s.io/v1`.
pub const EXEC_API_V1: &str = "client.authentication.k8s.io/v1";
/// `client.authentication.k8s.io/v1beta1`.
pub const EXEC_API_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
/// The name of the cluster extension whose value is passed to plugins as `spec.cluster.config`.
pub const EXEC_CLUSTER_EXTENSION: &str = "client.authentication.k8s.io/exec";
/// The environment variable holding the `ExecCredential` request.
pub const EXEC_INFO_ENV: &str = "KUBERNETES_EXEC_INFO";

/// At most this many bytes of a failing plugin's standard error go into the error message.
const MAX_STDERR: usize = 2048;

/// The cluster's details given to a plugin when `provideClusterInfo` is true. `Debug` output
/// hides proxy credentials.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ExecClusterInfo {
    /// The server URL.
    pub server: String,
    /// `tls-server-name`.
    pub tls_server_name: Option<String>,
    /// `insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// The CA bundle (PEM bytes, from `certificate-authority-data` or the `certificate-authority` file).
    pub certificate_authority_data: Option<Vec<u8>>,
    /// `proxy-url`.
    pub proxy_url: Option<String>,
    /// `disable-compression`.
    pub disable_compression: bool,
    /// The `client.authentication.k8s.io/exec` extension of the cluster.
    pub config: Option<serde_json::Value>,
}

impl std::fmt::Debug for ExecClusterInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecClusterInfo")
            .field("server", &self.server)
            .field("tls_server_name", &self.tls_server_name)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("certificate_authority_data", &self.certificate_authority_data.as_ref().map(Vec::len))
            .field("proxy_url", &crate::config::RedactedUrl(self.proxy_url.as_deref()))
            .field("disable_compression", &self.disable_compression)
            .field("config", &self.config)
            .finish()
    }
}

impl ExecClusterInfo {
    /// Cluster info for this server URL; set the other fields as needed.
    pub fn new(server: impl Into<String>) -> Self {
        ExecClusterInfo { server: server.into(), ..Default::default() }
    }
}

/// A credential returned by an exec plugin. `Debug` does not show the token or key.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExecCredential {
    /// The bearer token.
    pub token: Option<SecretString>,
    /// The client certificate and key.
    pub identity: Option<Identity>,
    /// When the credential expires; `None` means it is used until invalidated.
    pub expiration: Option<SystemTime>,
}

impl ExecCredential {
    /// Whether the credential can still be used at `now`, allowing `skew` before its expiration.
    pub fn is_valid_at(&self, now: SystemTime, skew: Duration) -> bool {
        match self.expiration {
            None => true,
            Some(exp) => exp.checked_sub(skew).is_some_and(|limit| now < limit),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    api_version: &'a str,
    kind: &'static str,
    spec: RequestSpec,
}

#[derive(Serialize)]
struct RequestSpec {
    interactive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<RequestCluster>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct RequestCluster {
    server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_server_name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    insecure_skip_tls_verify: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_authority_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy_url: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disable_compression: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    status: Option<ResponseStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseStatus {
    expiration_timestamp: Option<String>,
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

impl fmt::Debug for ResponseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStatus").finish_non_exhaustive()
    }
}

/// Runs an exec plugin once and returns its credential.
///
/// The command gets the configured args, the current environment plus the configured `env`,
/// and `KUBERNETES_EXEC_INFO` (with `spec.cluster` from `cluster` when `provideClusterInfo`
/// is set). Standard input is passed through only when the interactive mode allows it and it
/// is a terminal; standard error is captured for the error message unless the plugin is
/// interactive (then it is passed through so prompts are visible).
///
/// This blocks until the plugin exits.
pub fn run_exec(config: &ExecConfig, cluster: Option<&ExecClusterInfo>) -> Result<ExecCredential> {
    run_exec_with(config, cluster, std::io::stdin().is_terminal())
}

pub(crate) fn run_exec_with(
    config: &ExecConfig,
    cluster: Option<&ExecClusterInfo>,
    stdin_is_terminal: bool,
) -> Result<ExecCredential> {
    let command = config.command.clone();
    let config_error = |reason: String| Error::ExecConfig { command: command.clone(), reason };
    if command.is_empty() {
        return Err(config_error("command is empty".into()));
    }
    let api_version = validate_api_version(config).map_err(config_error)?;
    let interactive = match config.interactive_mode.unwrap_or_default() {
        ExecInteractiveMode::Never => false,
        ExecInteractiveMode::IfAvailable => stdin_is_terminal,
        ExecInteractiveMode::Always if stdin_is_terminal => true,
        ExecInteractiveMode::Always => {
            return Err(config_error(
                "interactiveMode is Always but standard input is not a terminal".into(),
            ));
        }
    };

    let request = Request {
        api_version,
        kind: "ExecCredential",
        spec: RequestSpec {
            interactive,
            cluster: cluster.filter(|_| config.provide_cluster_info).map(request_cluster),
        },
    };
    let request = serde_json::to_string(&request).map_err(|e| config_error(e.to_string()))?;

    let mut cmd = Command::new(&command);
    cmd.args(&config.args)
        .envs(config.env.iter().map(|e| (&e.name, &e.value)))
        .env(EXEC_INFO_ENV, request)
        .stdin(if interactive { Stdio::inherit() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(if interactive { Stdio::inherit() } else { Stdio::piped() });
    tracing::debug!(command = %command, interactive, "running exec credential plugin");
    let output = output_retrying_busy(&mut cmd).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::ExecNotFound {
            command: command.clone(),
            install_hint: config.install_hint.clone(),
            source,
        },
        _ => Error::ExecSpawn { command: command.clone(), source },
    })?;

    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exited with code {code}"),
            None => "was terminated by a signal".to_owned(),
        };
        return Err(Error::ExecFailed {
            command,
            status,
            stderr: bounded_stderr(&output.stderr),
            install_hint: config.install_hint.clone(),
        });
    }
    parse_response(&command, api_version, &output.stdout)
}

/// Runs the command; retries a few times when the executable is busy (`ETXTBSY`: the file was
/// just written and a concurrently forked process still holds it open for writing).
fn output_retrying_busy(cmd: &mut Command) -> std::io::Result<std::process::Output> {
    const ETXTBSY: i32 = 26;
    let mut attempts = 0;
    loop {
        match cmd.output() {
            Err(e) if cfg!(unix) && e.raw_os_error() == Some(ETXTBSY) && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20 * attempts));
            }
            result => return result,
        }
    }
}

fn validate_api_version(config: &ExecConfig) -> std::result::Result<&str, String> {
    match config.api_version.as_deref() {
        Some(v @ (EXEC_API_V1 | EXEC_API_V1BETA1)) => Ok(v),
        Some(other) => {
            Err(format!("unsupported apiVersion {other:?} (supported: {EXEC_API_V1}, {EXEC_API_V1BETA1})"))
        }
        None => Err("apiVersion is not set".into()),
    }
}

fn request_cluster(info: &ExecClusterInfo) -> RequestCluster {
    RequestCluster {
        server: info.server.clone(),
        tls_server_name: info.tls_server_name.clone(),
        insecure_skip_tls_verify: info.insecure_skip_tls_verify,
        certificate_authority_data: info
            .certificate_authority_data
            .as_ref()
            .map(|ca| base64::engine::general_purpose::STANDARD.encode(ca)),
        proxy_url: info.proxy_url.clone(),
        disable_compression: info.disable_compression,
        config: info.config.clone(),
    }
}

/// Trims standard error and keeps at most [`MAX_STDERR`] bytes of it (on a char boundary).
fn bounded_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.len() <= MAX_STDERR {
        return text.to_owned();
    }
    let mut end = MAX_STDERR;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes omitted)", &text[..end], text.len() - end)
}

fn parse_response(command: &str, api_version: &str, stdout: &[u8]) -> Result<ExecCredential> {
    let invalid =
        |reason: &str| Error::ExecCredential { command: command.to_owned(), reason: reason.to_owned() };
    let response: Response = serde_json::from_slice(stdout)
        .map_err(|source| Error::ExecDecode { command: command.to_owned(), source })?;
    if response.api_version != api_version {
        return Err(Error::ExecApiVersion {
            command: command.to_owned(),
            expected: api_version.to_owned(),
            got: response.api_version,
        });
    }
    if !response.kind.is_empty() && response.kind != "ExecCredential" {
        return Err(invalid(&format!("kind is {:?}, expected \"ExecCredential\"", response.kind)));
    }
    let status = response.status.ok_or_else(|| invalid("status is missing"))?;
    let expiration = match status.expiration_timestamp.as_deref().filter(|s| !s.is_empty()) {
        Some(ts) => Some(SystemTime::from(
            ts.parse::<jiff::Timestamp>()
                .map_err(|e| invalid(&format!("invalid expirationTimestamp {ts:?}: {e}")))?,
        )),
        None => None,
    };
    let token = status.token.filter(|t| !t.is_empty()).map(SecretString::from);
    let cert = status.client_certificate_data.filter(|c| !c.is_empty());
    let key = status.client_key_data.filter(|k| !k.is_empty());
    let identity = match (cert, key) {
        (Some(cert), Some(key)) => {
            let pem_error = |what| move |source| Error::ExecPem { command: command.to_owned(), what, source };
            let chain = certificates_from_pem(cert.as_bytes()).map_err(pem_error("clientCertificateData"))?;
            let key = private_key_from_pem(key.as_bytes()).map_err(pem_error("clientKeyData"))?;
            Some(Identity::new(chain, key))
        }
        (None, None) => None,
        (Some(_), None) => return Err(invalid("clientCertificateData is set without clientKeyData")),
        (None, Some(_)) => return Err(invalid("clientKeyData is set without clientCertificateData")),
    };
    if token.is_none() && identity.is_none() {
        return Err(invalid("status has neither a token nor clientCertificateData and clientKeyData"));
    }
    Ok(ExecCredential { token, identity, expiration })
}

#[cfg(test)]
#[cfg(unix)]
pub(crate) mod tests {
    use super::*;
    use crate::config::ExecEnvVar;
    use crate::config::pem_test::{TEST_CERT, TEST_KEY};
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::{Path, PathBuf};

    /// Writes an executable `#!/bin/sh` script.
    pub(crate) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    pub(crate) fn exec_config(command: &Path, api_version: &str) -> ExecConfig {
        ExecConfig {
            api_version: Some(api_version.into()),
            command: command.to_string_lossy().into_owned(),
            interactive_mode: Some(ExecInteractiveMode::Never),
            install_hint: Some("install the test plugin".into()),
            ..ExecConfig::default()
        }
    }

    fn token_output(api: &str, token: &str, expiration: Option<&str>) -> String {
        let exp = expiration.map(|e| format!(", \"expirationTimestamp\": \"{e}\"")).unwrap_or_default();
        format!(
            "cat <<'EOF'\n{{\"apiVersion\": \"{api}\", \"kind\": \"ExecCredential\", \
             \"status\": {{\"token\": \"{token}\"{exp}}}}}\nEOF"
        )
    }

    #[test]
    fn returns_a_token_v1_and_v1beta1() {
        let dir = tempfile::tempdir().unwrap();
        for api in [EXEC_API_V1, EXEC_API_V1BETA1] {
            let plugin =
                script(dir.path(), "plugin", &token_output(api, "tok-123", Some("2030-01-02T03:04:05Z")));
            let cred = run_exec_with(&exec_config(&plugin, api), None, false).unwrap();
            assert_eq!(cred.token.as_ref().unwrap().expose(), "tok-123");
            assert!(cred.identity.is_none());
            let expected: SystemTime = "2030-01-02T03:04:05Z".parse::<jiff::Timestamp>().unwrap().into();
            assert_eq!(cred.expiration, Some(expected));
            assert!(!format!("{cred:?}").contains("tok-123"));
        }
    }

    #[test]
    fn returns_a_client_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let json = serde_json::json!({
            "apiVersion": EXEC_API_V1,
            "kind": "ExecCredential",
            "status": {"clientCertificateData": TEST_CERT, "clientKeyData": TEST_KEY},
        });
        let plugin = script(dir.path(), "plugin", &format!("cat <<'EOF'\n{json}\nEOF"));
        let cred = run_exec_with(&exec_config(&plugin, EXEC_API_V1), None, false).unwrap();
        assert!(cred.token.is_none());
        assert_eq!(cred.identity.unwrap().cert_chain().len(), 1);
        assert_eq!(cred.expiration, None);
    }

    #[test]
    fn passes_args_env_and_exec_info() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("seen");
        let body = format!(
            "printf '%s|%s|%s|%s' \"$1\" \"$2\" \"$MY_VAR\" \"$KUBERNETES_EXEC_INFO\" > '{}'\n{}",
            out.display(),
            token_output(EXEC_API_V1, "t", None)
        );
        let plugin = script(dir.path(), "plugin", &body);
        let mut config = exec_config(&plugin, EXEC_API_V1);
        config.args = vec!["get-token".into(), "--flag".into()];
        config.env = vec![ExecEnvVar { name: "MY_VAR".into(), value: "my value".into() }];
        config.provide_cluster_info = true;
        let mut cluster = ExecClusterInfo::new("https://k8s:6443");
        cluster.certificate_authority_data = Some(b"ca-pem".to_vec());
        cluster.tls_server_name = Some("kubernetes".into());
        cluster.config = Some(serde_json::json!({"audience": "x"}));
        run_exec_with(&config, Some(&cluster), false).unwrap();

        let seen = std::fs::read_to_string(&out).unwrap();
        let parts: Vec<&str> = seen.splitn(4, '|').collect();
        assert_eq!(&parts[..3], ["get-token", "--flag", "my value"]);
        let info: serde_json::Value = serde_json::from_str(parts[3]).unwrap();
        assert_eq!(info["apiVersion"], EXEC_API_V1);
        assert_eq!(info["kind"], "ExecCredential");
        assert_eq!(info["spec"]["interactive"], false);
        let c = &info["spec"]["cluster"];
        assert_eq!(c["server"], "https://k8s:6443");
        assert_eq!(c["certificate-authority-data"], "Y2EtcGVt");
        assert_eq!(c["tls-server-name"], "kubernetes");
        assert_eq!(c["config"]["audience"], "x");

        // without provideClusterInfo there is no spec.cluster
        config.provide_cluster_info = false;
        run_exec_with(&config, Some(&cluster), false).unwrap();
        let seen = std::fs::read_to_string(&out).unwrap();
        let info: serde_json::Value = serde_json::from_str(seen.splitn(4, '|').nth(3).unwrap()).unwrap();
        assert!(info["spec"].get("cluster").is_none());
    }

    #[test]
    fn failing_plugin_reports_code_stderr_and_hint() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = script(dir.path(), "plugin", "echo 'please log in first' >&2\nexit 3");
        let err = run_exec_with(&exec_config(&plugin, EXEC_API_V1), None, false).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("exited with code 3"), "{msg}");
        assert!(msg.contains("please log in first"), "{msg}");
        assert!(msg.contains("install the test plugin"), "{msg}");

        let plugin = script(dir.path(), "noisy", "head -c 10000 /dev/zero | tr '\\0' x >&2\nexit 1");
        let Error::ExecFailed { stderr, .. } =
            run_exec_with(&exec_config(&plugin, EXEC_API_V1), None, false).unwrap_err()
        else {
            panic!("expected ExecFailed")
        };
        assert!(stderr.len() < MAX_STDERR + 100, "{}", stderr.len());
    }

    #[test]
    fn missing_command_reports_install_hint() {
        let dir = tempfile::tempdir().unwrap();
        let config = exec_config(&dir.path().join("no-such-plugin"), EXEC_API_V1);
        let err = run_exec_with(&config, None, false).unwrap_err();
        assert!(matches!(err, Error::ExecNotFound { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("no-such-plugin") && msg.contains("install the test plugin"), "{msg}");

        let mut config = exec_config(Path::new("kube-client-test-plugin-that-does-not-exist"), EXEC_API_V1);
        config.install_hint = Some("brew install it".into());
        let msg = run_exec_with(&config, None, false).unwrap_err().to_string();
        assert!(msg.contains("brew install it"), "{msg}");
    }

    #[test]
    fn bad_output_is_a_decode_error_naming_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = script(dir.path(), "plugin", "echo not json");
        let err = run_exec_with(&exec_config(&plugin, EXEC_API_V1), None, false).unwrap_err();
        assert!(matches!(err, Error::ExecDecode { .. }));
        assert!(err.to_string().contains(&plugin.display().to_string()), "{err}");
    }

    #[test]
    fn wrong_api_version_and_invalid_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = script(dir.path(), "plugin", &token_output(EXEC_API_V1BETA1, "t", None));
        let err = run_exec_with(&exec_config(&plugin, EXEC_API_V1), None, false).unwrap_err();
        assert!(matches!(err, Error::ExecApiVersion { .. }), "{err:?}");

        let err = run_exec_with(&exec_config(&plugin, "client.authentication.k8s.io/v1alpha1"), None, false)
            .unwrap_err();
        assert!(matches!(err, Error::ExecConfig { .. }), "{err:?}");

        for (status, reason) in [
            ("{}", "neither a token"),
            ("{\"clientKeyData\": \"k\"}", "without clientCertificateData"),
            ("{\"token\": \"t\", \"expirationTimestamp\": \"yesterday\"}", "invalid expirationTimestamp"),
        ] {
            let body = format!("echo '{{\"apiVersion\": \"{EXEC_API_V1}\", \"status\": {status}}}'");
            let plugin = script(dir.path(), "plugin", &body);
            let err = run_exec_with(&exec_config(&plugin, EXEC_API_V1), None, false).unwrap_err();
            assert!(err.to_string().contains(reason), "{err}");
        }

        let body = format!(
            "echo '{{\"apiVersion\": \"{EXEC_API_V1}\", \"status\": \
             {{\"clientCertificateData\": \"junk\", \"clientKeyData\": \"junk\"}}}}'"
        );
        let plugin = script(dir.path(), "plugin", &body);
        let err = run_exec_with(&exec_config(&plugin, EXEC_API_V1), None, false).unwrap_err();
        assert!(matches!(err, Error::ExecPem { what: "clientCertificateData", .. }), "{err:?}");
    }

    #[test]
    fn interactive_always_needs_a_terminal() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = script(dir.path(), "plugin", &token_output(EXEC_API_V1, "t", None));
        let mut config = exec_config(&plugin, EXEC_API_V1);
        config.interactive_mode = Some(ExecInteractiveMode::Always);
        let err = run_exec_with(&config, None, false).unwrap_err();
        assert!(err.to_string().contains("not a terminal"), "{err}");
    }

    #[test]
    fn validity_honours_skew() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cred = |exp: Option<u64>| ExecCredential {
            token: Some("t".into()),
            identity: None,
            expiration: exp.map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
        };
        assert!(cred(None).is_valid_at(now, Duration::from_secs(10)));
        assert!(cred(Some(1_011)).is_valid_at(now, Duration::from_secs(10)));
        assert!(!cred(Some(1_010)).is_valid_at(now, Duration::from_secs(10)));
        assert!(!cred(Some(900)).is_valid_at(now, Duration::ZERO));
    }
}
