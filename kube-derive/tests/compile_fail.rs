//! Misuse of `#[derive(CustomResource)]` is a compile error that points at the mistake and says
//! what to write; a cluster-scoped kind cannot be used with `Api::namespaced`.
//! The expected messages are in `tests/ui/*.stderr` (regenerate with `TRYBUILD=overwrite`).

#[test]
fn misuse_fails_to_compile_with_readable_messages() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
