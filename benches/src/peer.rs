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

/// The namespace of the controller scenario's ConfigMaps (`BENCH_CTL_NS`, `bench-ctl`).
pub fn ctl_namespace() -> String {
    std::env::var("BENCH_CTL_NS").unwrap_or_else(|_| "bench-ctl".into())
}

/// How many ConfigMaps the controller scenario reconciles (`BENCH_CTL_OBJECTS`, 1,000).
pub fn ctl_objects() -> usize {
    env_usize("BENCH_CTL_OBJECTS", 1000)
}

/// How many stamps the runner writes while the controller runs (`BENCH_CTL_CHURN`, 1,000).
pub fn ctl_churn() -> usize {
    env_usize("BENCH_CTL_CHURN", 1000)
}

/// The annotation the runner stamps with the Unix time in nanoseconds of its write.
pub const STAMP: &str = "bench.kube.rs/stamp";

/// Nanoseconds since the Unix epoch.
pub fn unix_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// What a controller peer's reconciles record: the first pass over every object, then how long
/// after each stamp's write its reconcile started.
#[derive(Debug)]
pub struct CtlRecord {
    start: std::time::Instant,
    objects: usize,
    churn: usize,
    last: std::collections::HashMap<String, String>,
    latencies_ms: Vec<f64>,
    synced: bool,
}

impl Default for CtlRecord {
    fn default() -> Self {
        Self {
            start: std::time::Instant::now(),
            objects: ctl_objects(),
            churn: ctl_churn(),
            last: std::collections::HashMap::new(),
            latencies_ms: Vec::new(),
            synced: false,
        }
    }
}

impl CtlRecord {
    /// Records a reconcile of `name` whose stamp annotation is `stamp`, started now; prints the
    /// first pass (and `synced`) when every object has been reconciled once. Returns `true`
    /// once every stamp of the churn has been seen.
    pub fn reconciled(&mut self, name: &str, stamp: Option<&str>) -> bool {
        let now = unix_nanos();
        let stamp = stamp.unwrap_or_default().to_string();
        match self.last.insert(name.to_string(), stamp.clone()) {
            // The first reconcile of an object: a stamp from an earlier run is not a trigger.
            None => {
                if self.last.len() == self.objects && !self.synced {
                    self.synced = true;
                    let s = self.start.elapsed().as_secs_f64();
                    println!("first_pass_s={s:.3} reconciles_per_s={:.0}", self.objects as f64 / s);
                    println!("synced");
                }
            }
            Some(prev) if !stamp.is_empty() && prev != stamp => {
                if let Ok(at) = stamp.parse::<u128>() {
                    self.latencies_ms.push(now.saturating_sub(at) as f64 / 1e6);
                }
            }
            Some(_) => {}
        }
        self.latencies_ms.len() >= self.churn
    }

    /// Prints the latency percentiles.
    pub fn report(&self) {
        let mut l = self.latencies_ms.clone();
        l.sort_by(f64::total_cmp);
        let pct = |p: f64| if l.is_empty() { 0.0 } else { l[(p * (l.len() - 1) as f64) as usize] };
        println!("latencies={} p50_ms={:.3} p99_ms={:.3}", l.len(), pct(0.5), pct(0.99));
    }
}
