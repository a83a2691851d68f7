//! What the runners of `just bench-webhook` and `just bench-remote` share: percentiles and
//! medians, a child process's CPU and peak memory from /proc, the date and machine, and where the
//! JSON goes.

use std::{path::PathBuf, process::Command, time::Duration};

/// The `q` quantile (0..=1) of sorted samples, nearest rank; NaN when empty.
pub fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64()
}

/// Median, min and max of the finite values.
pub fn stats(mut xs: Vec<f64>) -> Option<(f64, f64, f64)> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some((xs[xs.len() / 2], xs[0], xs[xs.len() - 1]))
}

/// The median of the finite values, NaN when there are none.
pub fn median(xs: Vec<f64>) -> f64 {
    stats(xs).map_or(f64::NAN, |s| s.0)
}

/// A figure with three significant digits or so.
pub fn fmt(x: f64) -> String {
    if !x.is_finite() {
        "-".to_owned()
    } else if x >= 1000.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// CPU seconds (user + system) process `pid` has used so far, from /proc; its waited-for
/// children are included, so a shell's commands count.
pub fn cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = (11..=14).filter_map(|i| fields.get(i)?.parse::<f64>().ok()).sum();
    Some(ticks / 100.0)
}

/// Peak resident memory of process `pid` (`VmHWM`) in MB.
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1000.0)
}

/// The date and time now, UTC.
pub fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Cores and CPU model.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

/// Writes `value` to `<target dir>/<name>/latest.json` (the runner lives in the target
/// directory's `release` folder) and returns the path.
pub fn write_json(name: &str, value: &serde_json::Value) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe.parent().and_then(std::path::Path::parent);
    let dir = target.ok_or_else(|| anyhow::anyhow!("no target directory above the runner"))?.join(name);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("latest.json");
    std::fs::write(&path, serde_json::to_string_pretty(value)?)?;
    Ok(path)
}
