//! Removing `metadata.managedFields` from JSON text before it is decoded.
//!
//! managedFields are often the largest part of an object and about 40% of its decode time, and
//! most programs never read them: cutting them out of the bytes is far cheaper than decoding
//! them and dropping them afterwards. Works on single objects, lists and watch event lines: every
//! `managedFields` member of an object that is the value of a `metadata` member is removed.

/// The JSON text without any `metadata.managedFields` member, or `None` when there is none (or
/// the text is not JSON this scanner can follow; the decoder then reports the error).
///
/// ```
/// let text = br#"{"metadata":{"name":"a","managedFields":[{"manager":"x"}],"uid":"1"},"data":{}}"#;
/// let trimmed = kube_core::trim::drop_managed_fields(text).unwrap();
/// assert_eq!(trimmed, br#"{"metadata":{"name":"a","uid":"1"},"data":{}}"#);
/// assert!(kube_core::trim::drop_managed_fields(br#"{"metadata":{"name":"a"}}"#).is_none());
/// ```
pub fn drop_managed_fields(json: &[u8]) -> Option<Vec<u8>> {
    let cuts = find_cuts(json)?;
    if cuts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(json.len());
    let mut at = 0;
    for (start, end) in cuts {
        // Cuts are ordered and disjoint; stay safe even if they were not.
        let start = start.clamp(at, json.len());
        out.extend_from_slice(&json[at..start]);
        at = end.clamp(start, json.len());
    }
    out.extend_from_slice(&json[at..]);
    Some(out)
}

const KEY: &[u8] = b"managedFields";
const PARENT: &[u8] = b"metadata";

struct Frame {
    is_object: bool,
    /// Whether this object is the value of a `metadata` member.
    in_metadata: bool,
    /// The last key read in this object.
    last_key: (usize, usize),
    /// Where this container's current member starts (after `{`/`,` and whitespace).
    member_start: usize,
    /// The position of the comma before the current member, if any.
    comma_before: Option<usize>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// The index after the string starting at `i` (which is a `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The index after the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                j += 1;
            }
            // No value at all (`"a":}`): not JSON this scanner follows.
            (j > i).then_some(j)
        }
    }
}

/// The byte ranges to cut, in order.
fn find_cuts(b: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut cuts = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = skip_ws(b, 0);
    // Whether the next token of the current object is a key.
    let mut expect_key = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'{' | b'[' => {
                let in_metadata =
                    stack.last().is_some_and(|f| f.is_object && &b[f.last_key.0..f.last_key.1] == PARENT);
                let start = skip_ws(b, i + 1);
                stack.push(Frame {
                    is_object: c == b'{',
                    in_metadata,
                    last_key: (0, 0),
                    member_start: start,
                    comma_before: None,
                });
                expect_key = c == b'{';
                i = start;
            }
            b'}' | b']' => {
                stack.pop();
                i = skip_ws(b, i + 1);
                expect_key = false;
            }
            b',' => {
                let after = skip_ws(b, i + 1);
                if let Some(f) = stack.last_mut() {
                    f.member_start = after;
                    f.comma_before = Some(i);
                    expect_key = f.is_object;
                }
                i = after;
            }
            b'"' if expect_key => {
                let end = skip_string(b, i)?;
                let key = (i + 1, end - 1);
                let colon = skip_ws(b, end);
                if b.get(colon) != Some(&b':') {
                    return None;
                }
                let value = skip_ws(b, colon + 1);
                let frame = stack.last_mut()?;
                frame.last_key = key;
                expect_key = false;
                if frame.in_metadata && &b[key.0..key.1] == KEY {
                    let value_end = skip_value(b, value)?;
                    let after = skip_ws(b, value_end);
                    // Cut the member with one neighbouring comma.
                    match (frame.comma_before, b.get(after)) {
                        (Some(comma), _) => {
                            cuts.push((comma, value_end));
                            i = after;
                        }
                        (None, Some(b',')) => {
                            // The first member goes with the comma after it: the next member
                            // becomes the first, with no comma before it.
                            let next = skip_ws(b, after + 1);
                            cuts.push((frame.member_start, next));
                            frame.member_start = next;
                            expect_key = true;
                            i = next;
                        }
                        (None, _) => {
                            cuts.push((frame.member_start, value_end));
                            i = after;
                        }
                    }
                } else {
                    i = value;
                }
            }
            b'"' => i = skip_ws(b, skip_string(b, i)?),
            _ => i = skip_ws(b, skip_value(b, i)?),
        }
    }
    Some(cuts)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn cut(v: &Value) -> Value {
        let text = serde_json::to_vec(v).unwrap();
        match drop_managed_fields(&text) {
            Some(out) => serde_json::from_slice(&out).unwrap(),
            None => v.clone(),
        }
    }

    fn drop_by_hand(mut v: Value) -> Value {
        fn walk(v: &mut Value) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                        meta.remove("managedFields");
                    }
                    map.values_mut().for_each(walk);
                }
                Value::Array(items) => items.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    }

    #[test]
    fn managed_fields_go_wherever_they_stand() {
        let mf =
            json!([{"manager": "kubectl", "fieldsV1": {"f:metadata": {"f:labels": {"\"quoted\"": {}}}}}]);
        let cases = [
            json!({"metadata": {"managedFields": mf, "name": "first"}}),
            json!({"metadata": {"name": "last", "managedFields": mf}}),
            json!({"metadata": {"name": "mid", "managedFields": mf, "uid": "u"}}),
            json!({"metadata": {"managedFields": mf}}),
            json!({"type": "MODIFIED", "object": {"apiVersion": "v1", "metadata": {"name": "w", "managedFields": mf}, "spec": {}}}),
            json!({"kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": [
                {"metadata": {"name": "a", "managedFields": mf}}, {"metadata": {"name": "b"}}, {"metadata": {"managedFields": mf, "name": "c"}}
            ]}),
        ];
        for case in cases {
            let want = drop_by_hand(case.clone());
            assert_ne!(want, case);
            assert_eq!(cut(&case), want, "{case}");
        }
    }

    #[test]
    fn other_managed_fields_keys_stay() {
        // Not under metadata, or in a string: untouched.
        let v = json!({"spec": {"managedFields": [1]}, "data": {"x": "\"managedFields\": []"}, "metadata": {"name": "n"}});
        assert!(drop_managed_fields(&serde_json::to_vec(&v).unwrap()).is_none());
        let v = json!({"spec": {"metadata": {"managedFields": [1]}}});
        assert_eq!(cut(&v), json!({"spec": {"metadata": {}}}), "any object named metadata counts");
    }

    #[test]
    fn whitespace_and_pretty_printing() {
        let v = json!({"metadata": {"name": "p", "managedFields": [{"a": [1, 2, {"b": null}]}], "labels": {"x": "y"}}, "n": 1.5e3, "t": true});
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        let out = drop_managed_fields(&pretty).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&out).unwrap(), drop_by_hand(v));
    }

    #[test]
    fn duplicate_keys_and_odd_spacing_never_panic() {
        let spaces = " ".repeat(20);
        let texts = [
            r#"{"metadata":{"managedFields":1,"managedFields":2}}"#.to_string(),
            format!(r#"{{"metadata":{{"managedFields":1,{spaces}"managedFields":2,{spaces}"name":"a"}}}}"#),
            r#"{"metadata":{"name":"a","managedFields":1,"managedFields":2}}"#.to_string(),
            r#"{"metadata":{"managedFields":[],"managedFields":{},"managedFields":"x"}}"#.to_string(),
        ];
        for text in texts {
            let out = drop_managed_fields(text.as_bytes()).unwrap();
            let v: Value = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{text}: {e}: {}", String::from_utf8_lossy(&out)));
            assert!(v["metadata"].get("managedFields").is_none(), "{text}");
        }
    }

    #[test]
    fn every_prefix_of_real_json_is_safe() {
        let v = json!({"type": "ADDED", "object": {"metadata": {"managedFields": [{"a": "b\\\"c"}], "name": "x"}, "spec": [1, true, null]}});
        let text = serde_json::to_vec(&v).unwrap();
        for end in 0..text.len() {
            let _ = drop_managed_fields(&text[..end]);
        }
    }

    #[test]
    fn garbage_is_left_to_the_decoder() {
        for text in
            [&b"{\"metadata\": {\"managedFields\": [1, 2"[..], b"{\"a\" 1}", b"\"unterminated", b"]]]"]
        {
            let _ = drop_managed_fields(text);
        }
        assert!(drop_managed_fields(b"{\"metadata\": {\"managedFields\": [1, 2").is_none());
        assert!(drop_managed_fields(b"{\"metadata\":{\"managedFields\":}}").is_none());
    }
}
