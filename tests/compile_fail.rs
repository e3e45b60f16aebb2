//! Wrong wiring does not compile, and the compiler's message names the types involved.
//!
//! The expected messages are in `tests/ui/*.stderr`. After a toolchain upgrade changes their
//! wording, regenerate them with `TRYBUILD=overwrite cargo test --test compile_fail` and review
//! the diff: each must still name both artifact types, or the missing input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

#[test]
fn wrong_wiring_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
