//! Timestamps and durations as JSON writes them: `meta.v1.Time` as RFC 3339 in seconds,
//! `MicroTime` with microseconds, `Duration` as a Go duration string.

use std::fmt::Write;

/// The longest timestamp [`rfc3339_in`] writes: `2006-01-02T15:04:05.000000Z`.
pub(crate) const RFC3339_MAX: usize = 27;

/// `seconds` since the Unix epoch as `2006-01-02T15:04:05Z`, with `.000000` microseconds from
/// `nanos` when `micro`, written in `out` without allocating; `None` for a year outside 0 to
/// 9999, which [`rfc3339`] writes.
pub(crate) fn rfc3339_in(seconds: i64, nanos: i32, micro: bool, out: &mut [u8; RFC3339_MAX]) -> Option<&str> {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let y = u32::try_from(y).ok().filter(|&y| y <= 9999)?;
    let two = |v: u32| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
    let [y1, y2] = two(y / 100);
    let [y3, y4] = two(y % 100);
    let ([mo1, mo2], [d1, d2]) = (two(m), two(d));
    let ([h1, h2], [mi1, mi2], [s1, s2]) = (two(secs / 3600), two(secs / 60 % 60), two(secs % 60));
    *out = *b"0000-00-00T00:00:00.000000Z";
    out[..19].copy_from_slice(&[
        y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T', h1, h2, b':', mi1, mi2, b':', s1, s2,
    ]);
    let len = if micro {
        let mut micros = nanos.clamp(0, 999_999_999) as u32 / 1000;
        for i in (20..26).rev() {
            out[i] = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        27
    } else {
        out[19] = b'Z';
        20
    };
    std::str::from_utf8(&out[..len]).ok()
}

/// `seconds` since the Unix epoch as `2006-01-02T15:04:05Z`, with `.000000` microseconds from
/// `nanos` when `micro`.
pub(crate) fn rfc3339(seconds: i64, nanos: i32, micro: bool) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = String::with_capacity(27);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if micro {
        let _ = write!(out, ".{:06}", nanos.clamp(0, 999_999_999) / 1000);
    }
    out.push('Z');
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Nanoseconds as Go's `time.Duration.String()` writes them (`1h2m3.5s`, `150ms`, `0s`).
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Below a second: the largest unit of ns, µs, ms with a fraction.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        fraction(&mut out, u / div, u % div, div);
        out.push_str(unit);
        return out;
    }
    let secs = u / 1_000_000_000;
    let frac = u % 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    fraction(&mut out, s, frac, 1_000_000_000);
    out.push('s');
    out
}

/// `whole` then `.part` of `div` without trailing zeros.
fn fraction(out: &mut String, whole: u64, part: u64, div: u64) {
    let _ = write!(out, "{whole}");
    if part > 0 {
        let width = div.ilog10() as usize;
        let digits = format!("{part:0width$}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_go() {
        assert_eq!(rfc3339(0, 0, false), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000, 123_456_789, false), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(1_700_000_000, 123_456_789, true), "2023-11-14T22:13:20.123456Z");
        assert_eq!(rfc3339(951_782_400, 0, false), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1, 0, false), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn timestamps_in_a_buffer_match_the_allocated_ones() {
        let mut buf = [0; RFC3339_MAX];
        for seconds in [0, 1_700_000_000, 951_782_400, -1, 253_402_300_799, -62_167_219_200] {
            for (nanos, micro) in [(0, false), (123_456_789, true), (5_000, true), (-3, true)] {
                let want = rfc3339(seconds, nanos, micro);
                assert_eq!(rfc3339_in(seconds, nanos, micro, &mut buf), Some(want.as_str()));
            }
        }
        // Years past 9999 or before 0 are left to the allocating writer.
        assert_eq!(rfc3339_in(253_402_300_800, 0, false, &mut buf), None);
        assert_eq!(rfc3339_in(-62_167_219_201, 0, false, &mut buf), None);
        assert_eq!(rfc3339(253_402_300_800, 0, false), "10000-01-01T00:00:00Z");
    }

    #[test]
    fn durations_match_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(150_000_000), "150ms");
        assert_eq!(go_duration(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(go_duration(60_000_000_000), "1m0s");
        assert_eq!(go_duration(-2_000_000_000), "-2s");
    }
}
