//! YAML kubeconfigs read as kubectl reads them: the YAML document becomes JSON, which the one
//! JSON decoder of the kubeconfig types reads.
//!
//! One decoder for both formats keeps a single copy of the types' deserializers in a binary
//! (decoding the types straight from the YAML parser took 0.4 MB of a controller).

use super::error::ParseError;

/// The JSON text of a YAML document (`null` for an empty one), parsed with nesting bounded to
/// `max_depth` and aliases bounded; errors never quote the document (it may hold secrets).
pub(super) fn to_json(text: &str, max_depth: usize) -> Result<String, ParseError> {
    let options = serde_saphyr::options! {
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_depth: max_depth,
            flow_nesting_limit: max_depth,
        },
    };
    let value: serde_json::Value = serde_saphyr::from_str_with_options(text, options)?;
    Ok(serde_json::to_string(&value)?)
}

/// The error for `json` (made by [`to_json`]) that the kubeconfig decoder refused: where, and the
/// decoder's message only when it names a field (it may quote a value otherwise).
pub(super) fn value_error(json: &str, e: &serde_json::Error) -> ParseError {
    let message = e.to_string();
    let names_a_field = message.starts_with("missing field") || message.starts_with("duplicate field");
    let problem = match message.split_once(" at line ") {
        Some((field, _)) if names_a_field => field.to_owned(),
        _ => "invalid value".to_owned(),
    };
    ParseError::YamlValue { problem, path: path_at(json, e.column()) }
}

/// Where in the document the value is that JSON text of one line has at byte `offset`, as a
/// path such as `users[0].user.exec.interactiveMode` (the document's root is `.`).
pub(super) fn path_at(json: &str, offset: usize) -> String {
    enum Step {
        Key(String),
        Index(usize),
    }
    let bytes = json.as_bytes();
    let end = offset.min(bytes.len());
    // One entry per open object or array: the step into its current member, if any yet.
    let mut steps: Vec<Option<Step>> = Vec::new();
    let mut at = 0;
    while at < end {
        match bytes[at] {
            b'{' => steps.push(None),
            b'[' => steps.push(Some(Step::Index(0))),
            b'}' | b']' => {
                steps.pop();
            }
            b',' => {
                if let Some(Some(Step::Index(i))) = steps.last_mut() {
                    *i += 1;
                }
            }
            b'"' => {
                let start = at;
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                let is_key = bytes.get(at + 1) == Some(&b':');
                if let (true, Some(open)) = (is_key, steps.last_mut()) {
                    let key =
                        json.get(start..=at).and_then(|k| serde_json::from_str(k).ok()).unwrap_or_default();
                    *open = Some(Step::Key(key));
                }
            }
            _ => {}
        }
        at += 1;
    }
    if end > 0 && matches!(bytes[end - 1], b'{' | b'[') {
        // the decoder refused that object or list as a whole
        steps.pop();
    }
    let mut path = String::new();
    for step in steps.iter().flatten() {
        match step {
            Step::Key(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Step::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    if path.is_empty() { ".".to_owned() } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path serde_json's error for `json` decoded as `T` points at.
    fn error_path<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        let err = serde_json::from_str::<T>(json).unwrap_err();
        assert_eq!(err.line(), 1);
        path_at(json, err.column())
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        users: Vec<User>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct User {
        name: String,
        #[serde(default)]
        user: Inner,
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        flag: bool,
    }

    #[test]
    fn the_path_names_the_value_the_decoder_refused() {
        let json = r#"{"users":[{"name":"a","user":{"token":"t"}},{"name":"b","user":{"token":["x\"],"],"flag":false}}]}"#;
        assert_eq!(error_path::<Doc>(json), "users[1].user.token");
        let json = r#"{"users":[{"name":"a"},{"name":"b","user":{"flag":"yes"}}]}"#;
        assert_eq!(error_path::<Doc>(json), "users[1].user.flag");
        let json = r#"{"users":{"a":1}}"#;
        assert_eq!(error_path::<Doc>(json), "users");
        // a struct may come as a list of its fields: the first one is refused
        assert_eq!(error_path::<Doc>("[1]"), "[0]");
        assert_eq!(error_path::<Doc>(r#""x""#), ".");
    }

    #[test]
    fn yaml_becomes_json() {
        assert_eq!(to_json("", 10).unwrap(), "null");
        assert_eq!(
            to_json("a: [1, x, true, ~]\nb: {c: d}\n", 10).unwrap(),
            r#"{"a":[1,"x",true,null],"b":{"c":"d"}}"#
        );
        assert!(matches!(to_json("a: [\n", 10), Err(ParseError::Yaml(_))));
    }
}
