//! `#[derive(CustomResource)]`: a custom resource type and its CRD from a spec struct.
