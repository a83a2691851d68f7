//! A strict reader of the Prometheus text format (0.0.4) and of OpenMetrics text, for checking
//! what a metrics endpoint serves: every line must be a HELP, TYPE (or UNIT) line or a sample of
//! the family declared last, names and labels must be well formed, values numbers, histogram
//! buckets cumulative and ending at `+Inf` with the count; OpenMetrics must end with `# EOF`.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

/// A sample: metric name, labels, value.
pub type Sample = (String, BTreeMap<String, String>, f64);

/// Every sample of a valid exposition, in order.
#[derive(Debug)]
pub struct Exposition {
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of the sample `name` whose labels include `labels`, if exactly one matches.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = self.samples.iter().filter(|(n, l, _)| {
            n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        });
        let first = found.next()?;
        found.next().is_none().then_some(first.2)
    }
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut chars = s.chars();
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':');
    chars.next().is_some_and(ok_first) && chars.all(|c| ok_first(c) || c.is_ascii_digit())
}

fn number(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|e| format!("bad number {s:?}: {e}")),
    }
}

/// `{a="x",b="y"}` (braces included) into labels; returns the rest of the line.
fn labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut out = BTreeMap::new();
    let Some(mut rest) = s.strip_prefix('{') else { return Ok((out, s)) };
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((out, after));
        }
        let eq = rest.find('=').ok_or("label without '='")?;
        let name = &rest[..eq];
        if !is_name(name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..].strip_prefix('"').ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (_, '\n') => return Err("newline in a label value".into()),
                (_, c) => value.push(c),
            }
        };
        if out.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The suffixes a family's samples may carry.
fn suffixes(kind: &str, openmetrics: bool) -> &'static [&'static str] {
    match (kind, openmetrics) {
        ("counter", true) => &["_total", "_created"],
        ("counter", false) | ("gauge", _) | ("untyped" | "unknown", _) => &[""],
        ("histogram", true) => &["_bucket", "_sum", "_count", "_created"],
        ("histogram", false) => &["_bucket", "_sum", "_count"],
        ("summary", _) => &["", "_sum", "_count"],
        _ => &[],
    }
}

/// Reads `text` strictly; `openmetrics` selects OpenMetrics' rules.
pub fn parse(text: &str, openmetrics: bool) -> Result<Exposition, String> {
    if !text.ends_with('\n') {
        return Err("the text does not end with a newline".into());
    }
    let mut families: HashMap<String, String> = HashMap::new();
    let mut current: Option<(String, String)> = None;
    let mut samples = Vec::new();
    let mut eof = false;
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if eof {
            return Err(err("content after # EOF".into()));
        }
        if line == "# EOF" {
            if !openmetrics {
                return Err(err("# EOF in the Prometheus text format".into()));
            }
            eof = true;
            continue;
        }
        if line.is_empty() {
            if openmetrics {
                return Err(err("empty line".into()));
            }
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (keyword, name, rest) = (parts.next(), parts.next(), parts.next());
            let name = name.filter(|n| is_name(n, true)).ok_or_else(|| err("bad metric name".into()))?;
            match keyword {
                Some("TYPE") => {
                    let kind = rest.ok_or_else(|| err("TYPE without a type".into()))?;
                    if suffixes(kind, openmetrics).is_empty() {
                        return Err(err(format!("unknown type {kind}")));
                    }
                    if families.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(err(format!("family {name} declared twice")));
                    }
                    current = Some((name.to_string(), kind.to_string()));
                }
                // HELP may come before or after TYPE; its text is free.
                Some("HELP") => {}
                Some("UNIT") if openmetrics => {}
                _ => return Err(err("unknown comment".into())),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(err("malformed comment".into()));
        }
        let end = line.find(['{', ' ']).ok_or_else(|| err("sample without a value".into()))?;
        let name = &line[..end];
        if !is_name(name, true) {
            return Err(err(format!("bad metric name {name:?}")));
        }
        let (labels, rest) = labels(&line[end..]).map_err(&err)?;
        let mut fields =
            rest.strip_prefix(' ').ok_or_else(|| err("no space before the value".into()))?.split(' ');
        let value = number(fields.next().unwrap_or_default()).map_err(&err)?;
        if let Some(ts) = fields.next() {
            number(ts).map_err(&err)?;
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        let (family, kind) = current.as_ref().ok_or_else(|| err("sample before any TYPE".into()))?;
        let suffix = name
            .strip_prefix(family.as_str())
            .ok_or_else(|| err(format!("sample outside family {family}")))?;
        if !suffixes(kind, openmetrics).contains(&suffix) {
            return Err(err(format!("suffix {suffix:?} not allowed for a {kind}")));
        }
        if suffix == "_bucket" && !labels.contains_key("le") {
            return Err(err("bucket without le".into()));
        }
        samples.push((name.to_string(), labels, value));
    }
    if openmetrics && !eof {
        return Err("OpenMetrics text without # EOF".into());
    }
    check_histograms(&samples, &families)?;
    Ok(Exposition { samples })
}

/// A histogram series: its family and its labels other than `le`.
type Series = (String, Vec<(String, String)>);

/// Buckets cumulative per label set, the last `+Inf`, equal to `_count`.
fn check_histograms(samples: &[Sample], families: &HashMap<String, String>) -> Result<(), String> {
    let mut buckets: BTreeMap<Series, Vec<(f64, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<Series, f64> = BTreeMap::new();
    for (name, labels, value) in samples {
        let rest: Vec<(String, String)> =
            labels.iter().filter(|(k, _)| *k != "le").map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(family) =
            name.strip_suffix("_bucket").filter(|f| families.get(*f).is_some_and(|k| k == "histogram"))
        {
            let le = number(&labels["le"])?;
            buckets.entry((family.to_string(), rest)).or_default().push((le, *value));
        } else if let Some(family) =
            name.strip_suffix("_count").filter(|f| families.get(*f).is_some_and(|k| k == "histogram"))
        {
            counts.insert((family.to_string(), rest), *value);
        }
    }
    for (key, series) in &buckets {
        if series.windows(2).any(|w| w[1].0 <= w[0].0 || w[1].1 < w[0].1) {
            return Err(format!("histogram {key:?}: buckets not increasing or not cumulative"));
        }
        let last = series.last().ok_or("empty histogram")?;
        if last.0 != f64::INFINITY || counts.get(key) != Some(&last.1) {
            return Err(format!("histogram {key:?}: last bucket is not +Inf equal to the count"));
        }
    }
    Ok(())
}

#[test]
fn the_reader_rejects_what_prometheus_would() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
    assert!(parse(good, false).is_ok());
    for bad in [
        "a_total 1\n",                      // no TYPE
        "# TYPE a gauge\na{x=1} 2\n",       // unquoted label
        "# TYPE a gauge\na 2",              // no newline at the end
        "# TYPE a gauge\nb 2\n",            // outside its family
        "# TYPE a gauge\n# TYPE a gauge\n", // declared twice
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n", // not cumulative
        "# TYPE a gauge\na two\n", // not a number
    ] {
        assert!(parse(bad, false).is_err(), "accepted {bad:?}");
    }
    assert!(parse("# TYPE a counter\na_total 1\n# EOF\n", true).is_ok());
    assert!(parse("# TYPE a counter\na_total 1\n", true).is_err(), "OpenMetrics needs # EOF");
}
