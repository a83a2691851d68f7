//! Kubeconfig fields that hold text, read as kubectl reads them: a number or a boolean where
//! text is expected is its text (`namespace: 2024` is the namespace `"2024"`), and `null` is
//! the field's default.
//!
//! kubectl turns YAML into JSON guided by the Go types, so a YAML scalar that resolves to a
//! number or boolean still fills a string field; the numbers are written back from their value
//! (`007` is `"7"`, `1.10` is `"1.1"`), as kubectl does. Fields kept as
//! [`serde_json::Value`] (unknown fields, extensions) keep their types.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// One scalar as text.
pub(super) struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl Visitor<'_> for TextVisitor {
            type Value = Text;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("text (a string, number or boolean)")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}

/// A field type that holds text: what it is read through, and how it is made from that.
pub(super) trait Textual: Default {
    /// The shape read, with [`Text`] where the field has a string.
    type Read: for<'de> Deserialize<'de>;
    /// The field's value from what was read.
    fn from_read(read: Self::Read) -> Self;
}

impl Textual for String {
    type Read = Text;
    fn from_read(read: Text) -> Self {
        read.0
    }
}

impl Textual for Option<String> {
    type Read = Text;
    fn from_read(read: Text) -> Self {
        Some(read.0)
    }
}

impl Textual for Option<PathBuf> {
    type Read = Text;
    fn from_read(read: Text) -> Self {
        Some(PathBuf::from(read.0))
    }
}

impl Textual for Vec<String> {
    type Read = Vec<Text>;
    fn from_read(read: Vec<Text>) -> Self {
        read.into_iter().map(|t| t.0).collect()
    }
}

impl Textual for BTreeMap<String, String> {
    type Read = BTreeMap<String, Text>;
    fn from_read(read: BTreeMap<String, Text>) -> Self {
        read.into_iter().map(|(k, v)| (k, v.0)).collect()
    }
}

impl Textual for BTreeMap<String, Vec<String>> {
    type Read = BTreeMap<String, Vec<Text>>;
    fn from_read(read: BTreeMap<String, Vec<Text>>) -> Self {
        read.into_iter().map(|(k, v)| (k, v.into_iter().map(|t| t.0).collect())).collect()
    }
}

/// `#[serde(deserialize_with = "text")]` for a field holding text (see the module docs).
pub(super) fn text<'de, D: Deserializer<'de>, T: Textual>(deserializer: D) -> Result<T, D::Error> {
    Option::<T::Read>::deserialize(deserializer).map(|read| read.map(T::from_read).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    struct Fields {
        #[serde(default, deserialize_with = "text")]
        name: String,
        #[serde(default, deserialize_with = "text")]
        namespace: Option<String>,
        #[serde(default, deserialize_with = "text")]
        file: Option<PathBuf>,
        #[serde(default, deserialize_with = "text")]
        args: Vec<String>,
        #[serde(default, deserialize_with = "text")]
        config: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "text")]
        extra: BTreeMap<String, Vec<String>>,
    }

    #[test]
    fn numbers_and_booleans_are_read_as_their_text() {
        let got: Fields = serde_json::from_str(
            r#"{"name": 123, "namespace": true, "file": 7, "args": ["--port", 8080, 1.5, false],
                "config": {"a": "x", "b": 2}, "extra": {"k": [1, "v"]}}"#,
        )
        .unwrap();
        assert_eq!(got.name, "123");
        assert_eq!(got.namespace.as_deref(), Some("true"));
        assert_eq!(got.file, Some(PathBuf::from("7")));
        assert_eq!(got.args, ["--port", "8080", "1.5", "false"]);
        assert_eq!(got.config["b"], "2");
        assert_eq!(got.extra["k"], ["1", "v"]);
    }

    #[test]
    fn null_is_the_default_and_other_shapes_are_errors() {
        let got: Fields =
            serde_json::from_str(r#"{"name": null, "namespace": null, "args": null, "config": null}"#)
                .unwrap();
        assert_eq!(got, Fields::default());
        for bad in
            [r#"{"name": [1]}"#, r#"{"namespace": {}}"#, r#"{"args": "x"}"#, r#"{"config": {"a": [1]}}"#]
        {
            assert!(serde_json::from_str::<Fields>(bad).is_err(), "{bad}");
        }
    }
}
