//! [`TokenFile`]: a bearer token kept in a file that is re-read when it changes
//! (`tokenFile` in a kubeconfig, the projected service account token in a pod).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use super::error::{Error, Result};
use crate::config::SecretString;

/// How long a token read from a file is used before the file is read again, even when its
/// modification time looks unchanged.
pub const TOKEN_FILE_REFRESH: Duration = Duration::from_secs(60);

struct Cached {
    token: SecretString,
    modified: Option<SystemTime>,
    read_at: Instant,
}

/// A bearer token read from a file, re-read when the file's modification time changes or
/// after [`TOKEN_FILE_REFRESH`].
///
/// When re-reading fails after an earlier success, the last token is returned (and a warning
/// logged), so a file briefly missing during rotation does not fail requests.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use kube_client::auth::TokenFile;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("token");
/// std::fs::write(&path, "abc\n")?;
/// let file = TokenFile::new(&path);
/// assert_eq!(file.token()?.expose(), "abc");
/// # Ok(()) }
/// ```
pub struct TokenFile {
    path: PathBuf,
    fallback: Option<SecretString>,
    cache: Mutex<Option<Cached>>,
}

impl TokenFile {
    /// A token file at `path`; nothing is read yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TokenFile { path: path.into(), fallback: None, cache: Mutex::new(None) }
    }

    /// A token file with a token to use while the file cannot be read (a kubeconfig user with
    /// both `token` and `tokenFile`).
    pub fn with_fallback(path: impl Into<PathBuf>, token: SecretString) -> Self {
        TokenFile { path: path.into(), fallback: Some(token), cache: Mutex::new(None) }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current token, read from the file when needed.
    pub fn token(&self) -> Result<SecretString> {
        self.token_at(Instant::now())
    }

    /// [`TokenFile::token`] with an explicit clock, for tests.
    pub fn token_at(&self, now: Instant) -> Result<SecretString> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if let Some(cached) = cache.as_ref() {
            let fresh = now.saturating_duration_since(cached.read_at) < TOKEN_FILE_REFRESH;
            if fresh && modified.is_some() && cached.modified == modified {
                return Ok(cached.token.clone());
            }
        }
        match self.read() {
            Ok(token) => {
                *cache = Some(Cached { token: token.clone(), modified, read_at: now });
                Ok(token)
            }
            Err(err) => {
                let last = cache.as_ref().map(|c| c.token.clone()).or_else(|| self.fallback.clone());
                match last {
                    Some(token) => {
                        tracing::warn!(error = %err, "using the last known token");
                        Ok(token)
                    }
                    None => Err(err),
                }
            }
        }
    }

    fn read(&self) -> Result<SecretString> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|source| Error::ReadTokenFile { path: self.path.clone(), source })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Error::EmptyTokenFile { path: self.path.clone() });
        }
        Ok(SecretString::new(token))
    }
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile").field("path", &self.path).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn set_mtime(path: &Path, secs: u64) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)).unwrap();
    }

    #[test]
    fn rereads_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one\n").unwrap();
        set_mtime(&path, 1_000);
        let file = TokenFile::new(&path);
        let t0 = Instant::now();
        assert_eq!(file.token_at(t0).unwrap().expose(), "one");

        // same mtime, within the refresh interval: cached
        std::fs::write(&path, "two").unwrap();
        set_mtime(&path, 1_000);
        assert_eq!(file.token_at(t0 + Duration::from_secs(1)).unwrap().expose(), "one");
        // after the refresh interval: re-read
        assert_eq!(file.token_at(t0 + TOKEN_FILE_REFRESH).unwrap().expose(), "two");
        // modification time changed: re-read at once
        std::fs::write(&path, "three").unwrap();
        set_mtime(&path, 2_000);
        assert_eq!(file.token_at(t0 + TOKEN_FILE_REFRESH).unwrap().expose(), "three");
    }

    #[test]
    fn keeps_the_last_token_when_the_file_disappears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one").unwrap();
        let file = TokenFile::new(&path);
        assert_eq!(file.token().unwrap().expose(), "one");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(file.token().unwrap().expose(), "one");
    }

    #[test]
    fn errors_and_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let err = TokenFile::new(&path).token().unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        let file = TokenFile::with_fallback(&path, "inline".into());
        assert_eq!(file.token().unwrap().expose(), "inline");
        std::fs::write(&path, " \n").unwrap();
        assert!(matches!(TokenFile::new(&path).token(), Err(Error::EmptyTokenFile { .. })));
        assert!(!format!("{file:?}").contains("inline"));
    }
}
