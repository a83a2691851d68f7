//! Reading the bytes of a kubeconfig `*-data` field (base64) or of the file its sibling field names.

use std::path::Path;

use base64::Engine as _;

use super::error::{Error, FieldRef, Result};

/// Decodes a base64 `*-data` field (whitespace ignored, as Go's decoder does).
pub(crate) fn decode_base64(data: &str, field: Box<FieldRef>) -> Result<Vec<u8>> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|source| Error::Base64 { field, source })
}

/// The bytes of a `*-data` field if set (it wins, as in kubectl), else of the file field if set.
/// Returns the field the bytes came from, for later error messages.
pub(crate) fn data_or_file(
    data: Option<&str>,
    data_field: impl FnOnce() -> Box<FieldRef>,
    file: Option<&Path>,
    file_field: impl FnOnce() -> Box<FieldRef>,
) -> Result<Option<(Vec<u8>, Box<FieldRef>)>> {
    if let Some(data) = data.filter(|d| !d.trim().is_empty()) {
        let field = data_field();
        return Ok(Some((decode_base64(data, field.clone())?, field)));
    }
    if let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) {
        let field = file_field();
        let bytes = std::fs::read(path).map_err(|source| Error::ReadField {
            field: field.clone(),
            path: path.to_owned(),
            source,
        })?;
        return Ok(Some((bytes, field)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_wins_over_file_and_errors_name_the_field() {
        use super::super::error::EntryKind;
        let field = |f| FieldRef::new(EntryKind::User, "admin", f, None);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cert");
        std::fs::write(&file, "from-file").unwrap();

        let (bytes, from) =
            data_or_file(Some("ZnJvbS1k\nYXRh"), || field("d"), Some(&file), || field("f")).unwrap().unwrap();
        assert_eq!((bytes.as_slice(), from.field), (&b"from-data"[..], "d"));
        let (bytes, from) = data_or_file(None, || field("d"), Some(&file), || field("f")).unwrap().unwrap();
        assert_eq!((bytes.as_slice(), from.field), (&b"from-file"[..], "f"));
        assert!(data_or_file(Some(""), || field("d"), None, || field("f")).unwrap().is_none());

        let err = data_or_file(Some("%%%"), || field("client-key-data"), None, || field("f")).unwrap_err();
        assert!(err.to_string().starts_with("failed to decode client-key-data of user \"admin\""), "{err}");
        let missing = dir.path().join("nope");
        let err = data_or_file(None, || field("d"), Some(&missing), || field("client-key")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("failed to read client-key of user \"admin\""), "{msg}");
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
    }
}
