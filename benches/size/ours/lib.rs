//! The examples' `foo` module, under the crate name the `foo_controller` binary imports it by.

#[path = "../../../examples/src/foo.rs"]
pub mod foo;
