//! [`ExecAuth`]: an exec plugin with its last credential, re-run on expiry or after a 401.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::error::Result;
use super::exec::{ExecClusterInfo, ExecCredential, run_exec_with};
use crate::config::ExecConfig;

/// A credential is refreshed this long before its `expirationTimestamp`.
pub const DEFAULT_EXPIRY_SKEW: Duration = Duration::from_secs(10);

/// A credential that is already expired (or within the skew) when the plugin returns it is
/// still reused for this long, so a misbehaving plugin is not re-run on every request.
pub const MIN_RERUN_INTERVAL: Duration = Duration::from_secs(5);

type Runner = dyn Fn(&ExecConfig, Option<&ExecClusterInfo>) -> Result<ExecCredential> + Send + Sync;

/// An exec credential plugin and a cache of its last credential.
///
/// [`ExecAuth::credential`] returns the cached credential until its expiration (minus
/// [`DEFAULT_EXPIRY_SKEW`]), then runs the plugin again. A credential that arrives with less
/// than the skew left is used until its actual expiration, and one that arrives expired for
/// [`MIN_RERUN_INTERVAL`]. Credentials without an expiration are kept until
/// [`ExecAuth::invalidate_if`], which the transport calls after a 401 response.
///
/// Concurrent callers wait for one run of the plugin instead of starting their own.
pub struct ExecAuth {
    config: ExecConfig,
    cluster: Option<ExecClusterInfo>,
    skew: Duration,
    runner: Box<Runner>,
    cache: Mutex<Option<Cached>>,
}

/// The last credential, when it came and the skew that applies to it.
struct Cached {
    credential: ExecCredential,
    fetched: SystemTime,
    skew: Duration,
}

impl Cached {
    fn usable_at(&self, now: SystemTime) -> bool {
        if self.credential.is_valid_at(now, self.skew) {
            return true;
        }
        // Only a credential that was already (nearly) expired when it arrived is held for the
        // minimum interval; one that simply aged is refreshed on time.
        let arrived_stale = !self.credential.is_valid_at(self.fetched, self.skew);
        arrived_stale && now.duration_since(self.fetched).is_ok_and(|age| age < MIN_RERUN_INTERVAL)
    }
}

impl ExecAuth {
    /// The plugin `config`, given `cluster` when its `provideClusterInfo` is set.
    pub fn new(config: ExecConfig, cluster: Option<ExecClusterInfo>) -> Self {
        ExecAuth {
            config,
            cluster,
            skew: DEFAULT_EXPIRY_SKEW,
            runner: Box::new(|config, cluster| {
                use std::io::IsTerminal as _;
                run_exec_with(config, cluster, std::io::stdin().is_terminal())
            }),
            cache: Mutex::new(None),
        }
    }

    /// Refreshes credentials this long before they expire instead of [`DEFAULT_EXPIRY_SKEW`].
    #[must_use]
    pub fn with_expiry_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Runs the plugin as if standard input were never a terminal (for tests and daemons).
    #[cfg(test)]
    pub(crate) fn non_interactive(mut self) -> Self {
        self.runner = Box::new(|config, cluster| run_exec_with(config, cluster, false));
        self
    }

    /// The plugin's configuration.
    pub fn config(&self) -> &ExecConfig {
        &self.config
    }

    /// The cluster details given to the plugin.
    pub fn cluster(&self) -> Option<&ExecClusterInfo> {
        self.cluster.as_ref()
    }

    /// A valid credential: the cached one, or a new one from running the plugin (blocking).
    pub fn credential(&self) -> Result<ExecCredential> {
        self.credential_at(SystemTime::now())
    }

    /// [`ExecAuth::credential`] with an explicit clock.
    pub fn credential_at(&self, now: SystemTime) -> Result<ExecCredential> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = cache.as_ref().filter(|c| c.usable_at(now)) {
            return Ok(cached.credential.clone());
        }
        let credential = (self.runner)(&self.config, self.cluster.as_ref())?;
        // the skew only applies when the credential leaves room for it
        let skew = if credential.is_valid_at(now, self.skew) {
            self.skew
        } else {
            if !credential.is_valid_at(now, Duration::ZERO) {
                tracing::warn!(command = %self.config.command, "exec plugin returned an already expired credential");
            }
            Duration::ZERO
        };
        *cache = Some(Cached { credential: credential.clone(), fetched: now, skew });
        Ok(credential)
    }

    /// The cached credential if it is still valid at `now`; never runs the plugin or blocks
    /// on it (returns `None` while another thread runs it).
    pub fn cached_at(&self, now: SystemTime) -> Option<ExecCredential> {
        let cache = self.cache.try_lock().ok()?;
        cache.as_ref().filter(|c| c.usable_at(now)).map(|c| c.credential.clone())
    }

    /// Forgets the cached credential, so the next [`ExecAuth::credential`] runs the plugin.
    pub fn invalidate(&self) {
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Forgets the cached credential only if it is `used`, the one a request was rejected
    /// with; returns whether it did. After several concurrent 401s, the plugin then runs once:
    /// the later calls find a newer credential and keep it. Blocks while the plugin runs.
    pub fn invalidate_if(&self, used: &ExecCredential) -> bool {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let rejected = cache.as_ref().is_some_and(|c| &c.credential == used);
        if rejected {
            *cache = None;
        }
        rejected
    }
}

impl fmt::Debug for ExecAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecAuth")
            .field("command", &self.config.command)
            .field("api_version", &self.config.api_version)
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::super::exec::EXEC_API_V1;
    use super::super::exec::tests::{exec_config, script};
    use super::*;
    use std::path::Path;

    /// A plugin that appends a line to `runs` each time and returns token `tok-<run number>`
    /// expiring at 2030-01-01T00:00:00Z.
    fn counting_plugin(dir: &Path, expiration: Option<&str>) -> (ExecAuth, std::path::PathBuf) {
        let runs = dir.join("runs");
        let exp = expiration.map(|e| format!(", \"expirationTimestamp\": \"{e}\"")).unwrap_or_default();
        let body = format!(
            "echo run >> '{runs}'\nn=$(wc -l < '{runs}' | tr -d ' ')\n\
             printf '{{\"apiVersion\": \"{EXEC_API_V1}\", \"kind\": \"ExecCredential\", \
             \"status\": {{\"token\": \"tok-%s\"{exp}}}}}' \"$n\"",
            runs = runs.display()
        );
        let plugin = script(dir, "plugin", &body);
        (ExecAuth::new(exec_config(&plugin, EXEC_API_V1), None).non_interactive(), runs)
    }

    fn run_count(runs: &Path) -> usize {
        std::fs::read_to_string(runs).map(|s| s.lines().count()).unwrap_or(0)
    }

    fn at(ts: &str) -> SystemTime {
        ts.parse::<jiff::Timestamp>().unwrap().into()
    }

    #[test]
    fn caches_until_expiry_then_reruns() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, runs) = counting_plugin(dir.path(), Some("2030-01-01T00:00:00Z"));
        let token = |now| auth.credential_at(now).unwrap().token.unwrap().expose().to_owned();

        assert!(auth.cached_at(at("2029-12-31T00:00:00Z")).is_none());
        assert_eq!(token(at("2029-12-31T00:00:00Z")), "tok-1");
        assert_eq!(token(at("2029-12-31T23:59:00Z")), "tok-1");
        assert!(auth.cached_at(at("2029-12-31T23:59:00Z")).is_some());
        assert_eq!(run_count(&runs), 1);
        // within the skew before expiry: refreshed
        assert_eq!(token(at("2029-12-31T23:59:55Z")), "tok-2");
        assert_eq!(run_count(&runs), 2);
        assert!(auth.cached_at(at("2030-01-01T00:00:01Z")).is_none());
        assert_eq!(token(at("2030-01-01T00:00:01Z")), "tok-3");
        assert_eq!(run_count(&runs), 3);
    }

    #[test]
    fn without_expiration_caches_until_invalidated() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, runs) = counting_plugin(dir.path(), None);
        let token = || auth.credential().unwrap().token.unwrap().expose().to_owned();
        assert_eq!(token(), "tok-1");
        assert_eq!(token(), "tok-1");
        assert_eq!(run_count(&runs), 1);
        auth.invalidate();
        assert!(auth.cached_at(SystemTime::now()).is_none());
        assert_eq!(token(), "tok-2");
        assert_eq!(token(), "tok-2");
        assert_eq!(run_count(&runs), 2);
    }

    #[test]
    fn invalidate_reruns_before_expiry_and_skew_is_configurable() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, runs) = counting_plugin(dir.path(), Some("2030-01-01T00:00:00Z"));
        let auth = auth.with_expiry_skew(Duration::from_secs(3600));
        let now = at("2029-12-31T22:00:00Z");
        assert_eq!(auth.credential_at(now).unwrap().token.unwrap().expose(), "tok-1");
        auth.invalidate();
        assert_eq!(auth.credential_at(now).unwrap().token.unwrap().expose(), "tok-2");
        // an hour of skew: at 23:00:01 the credential counts as expired
        assert_eq!(auth.credential_at(at("2029-12-31T23:00:01Z")).unwrap().token.unwrap().expose(), "tok-3");
        assert_eq!(run_count(&runs), 3);
        assert!(format!("{auth:?}").contains("plugin"));
    }

    #[test]
    fn a_credential_expiring_on_arrival_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, runs) = counting_plugin(dir.path(), Some("2030-01-01T00:00:00Z"));
        let token = |now| auth.credential_at(now).unwrap().token.unwrap().expose().to_owned();
        // 5 s left, less than the 10 s skew: used until it actually expires
        assert_eq!(token(at("2029-12-31T23:59:55Z")), "tok-1");
        assert_eq!(token(at("2029-12-31T23:59:56Z")), "tok-1");
        assert!(auth.cached_at(at("2029-12-31T23:59:59Z")).is_some());
        assert_eq!(run_count(&runs), 1);
        // already expired on arrival: reused for the minimum interval, then re-run
        let late = at("2030-01-01T00:01:00Z");
        assert_eq!(token(late), "tok-2");
        assert_eq!(token(late + Duration::from_secs(1)), "tok-2");
        assert_eq!(run_count(&runs), 2);
        assert_eq!(token(late + MIN_RERUN_INTERVAL), "tok-3");
        assert_eq!(run_count(&runs), 3);
    }

    #[test]
    fn invalidate_if_only_forgets_the_rejected_credential() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, runs) = counting_plugin(dir.path(), None);
        let first = auth.credential().unwrap();
        // three requests rejected with the first credential
        assert!(auth.invalidate_if(&first));
        let second = auth.credential().unwrap();
        assert_eq!(second.token.as_ref().unwrap().expose(), "tok-2");
        assert!(!auth.invalidate_if(&first));
        assert!(!auth.invalidate_if(&first));
        assert_eq!(auth.credential().unwrap(), second);
        assert_eq!(run_count(&runs), 2);
        assert!(auth.invalidate_if(&second));
        assert!(!auth.invalidate_if(&second), "nothing cached");
    }

    #[test]
    fn errors_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("fail");
        std::fs::write(&flag, "").unwrap();
        let body = format!(
            "if [ -e '{}' ]; then echo 'not yet' >&2; exit 1; fi\n\
             echo '{{\"apiVersion\": \"{EXEC_API_V1}\", \"status\": {{\"token\": \"ok\"}}}}'",
            flag.display()
        );
        let plugin = script(dir.path(), "plugin", &body);
        let auth = ExecAuth::new(exec_config(&plugin, EXEC_API_V1), None).non_interactive();
        assert!(auth.credential().unwrap_err().to_string().contains("not yet"));
        std::fs::remove_file(&flag).unwrap();
        assert_eq!(auth.credential().unwrap().token.unwrap().expose(), "ok");
    }
}
