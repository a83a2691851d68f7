//! What the peer programs of `just bench-peers` share: their settings from the environment and
//! the figures they print for the runner (`key=value` lines on stdout).

/// A count from the environment variable `name`, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// How many Pods the population has (`BENCH_PODS`, 10,000 by default).
pub fn pods() -> usize {
    env_usize("BENCH_PODS", 10_000)
}

/// How many updates the informer scenario absorbs (`BENCH_UPDATES`, 5,000 by default).
pub fn updates() -> usize {
    env_usize("BENCH_UPDATES", 5_000)
}

/// How many watches the many-watches scenario opens (`BENCH_WATCHES`, 200 by default).
pub fn watches() -> usize {
    env_usize("BENCH_WATCHES", 200)
}

/// How long the many-watches scenario holds its watches (`BENCH_HOLD_MS`, 3 s by default).
pub fn hold() -> std::time::Duration {
    std::time::Duration::from_millis(env_usize("BENCH_HOLD_MS", 3000) as u64)
}

/// The namespace of the `i`th watch of the many-watches scenario.
pub fn watch_namespace(i: usize) -> String {
    format!("bench-w-{i}")
}

/// This process's resident memory now, in kB (`VmRSS`), 0 where /proc has no answer.
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}
