//! Polling until something is ready, with a deadline and a clear error on timeout.

use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The outcome of one probe.
#[derive(Debug)]
pub(crate) enum Probe<T> {
    /// Done, with a value.
    Ready(T),
    /// Not yet; the text describes the last observed state for the timeout error.
    NotYet(String),
}

/// Calls `probe` every `interval` until it is ready, fails, or `timeout` has passed.
pub(crate) fn until<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Result<Probe<T>>,
) -> Result<T> {
    let started = Instant::now();
    loop {
        let last = match probe()? {
            Probe::Ready(value) => {
                tracing::trace!(what, elapsed = ?started.elapsed(), "ready");
                return Ok(value);
            }
            Probe::NotYet(state) => state,
        };
        if started.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: what.to_owned(),
                waited: started.elapsed(),
                detail: if last.is_empty() { String::new() } else { format!("last state: {last}") },
            });
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_when_ready() -> Result<()> {
        let mut n = 0;
        let got = until("n to reach 3", Duration::from_secs(5), Duration::ZERO, || {
            n += 1;
            Ok(if n == 3 { Probe::Ready(n) } else { Probe::NotYet(format!("n={n}")) })
        })?;
        assert_eq!(got, 3);
        Ok(())
    }

    #[test]
    fn times_out_with_last_state() {
        let err = until::<()>("never", Duration::from_millis(30), Duration::from_millis(5), || {
            Ok(Probe::NotYet("still no".into()))
        });
        let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("timed out after"), "{msg}");
        assert!(msg.ends_with("waiting for never; last state: still no"), "{msg}");
    }
}
