//! The facade's features really gate: `millrace` without its default features builds, and
//! pulls in none of the heavy crates that only the store, the runner and the components need;
//! and the tabular library stays apart from the pipeline crates.
//!
//! `cargo xtask lint` runs [`check_minimal_build`] — it builds `-p millrace --no-default-features`
//! and reads that build's normal (non-dev) dependency tree from `cargo tree` — and
//! [`check_tabular_stands_alone`].

use std::path::Path;

use crate::process::{capture, cargo, run};

/// Crates that the core alone must not depend on.
pub const HEAVY: &[&str] = &[
    "rusqlite",
    "libsqlite3-sys",
    "postgres",
    "tokio-postgres",
    "arrow-array",
    "arrow-schema",
    "parquet",
    "smartcore",
    "object_store",
    "reqwest",
    "kube-client",
    "kube",
    "k8s-openapi",
];

/// Crates no build may depend on: `aws-lc-rs` builds C code for minutes, and rustls on `ring`
/// does the same work (object_store's and reqwest's default TLS features would pull it in).
pub const FORBIDDEN: &[&str] = &["aws-lc-rs", "aws-lc-sys", "openssl-sys"];

/// Checks that the default build of the whole workspace depends on none of [`FORBIDDEN`].
pub fn check_no_forbidden_crates(root: &Path) -> Result<(), String> {
    let tree = capture(cargo().current_dir(root).args([
        "tree",
        "--workspace",
        "--edges",
        "normal,build",
        "--prefix",
        "none",
    ]))?;
    let found = crates_in(&tree, FORBIDDEN);
    if found.is_empty() {
        eprintln!("xtask: the workspace depends on none of {FORBIDDEN:?}");
        Ok(())
    } else {
        Err(format!(
            "the workspace depends on {}: pick rustls on `ring` (see docs/architecture.md)",
            found.join(", ")
        ))
    }
}

/// The Millrace crates the tabular library must not depend on: it knows nothing of pipelines.
pub const PIPELINE_CRATES: &[&str] = &[
    "millrace",
    "millrace-core",
    "millrace-macros",
    "millrace-metadata",
    "millrace-runner",
    "millrace-components",
];

/// The crates of `names` in a `cargo tree --prefix none` listing.
pub fn crates_in(tree: &str, names: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| names.contains(name))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The heavy crates in a `cargo tree --prefix none` listing.
pub fn heavy_crates_in(tree: &str) -> Vec<String> {
    crates_in(tree, HEAVY)
}

/// Checks that `millrace-tabular` depends on no pipeline crate.
pub fn check_tabular_stands_alone(root: &Path) -> Result<(), String> {
    let tree = capture(cargo().current_dir(root).args([
        "tree",
        "-p",
        "millrace-tabular",
        "--edges",
        "normal",
        "--prefix",
        "none",
    ]))?;
    let found = crates_in(&tree, PIPELINE_CRATES);
    if found.is_empty() {
        eprintln!("xtask: millrace-tabular depends on no pipeline crate");
        Ok(())
    } else {
        Err(format!(
            "millrace-tabular depends on {}: the data library must not know pipelines",
            found.join(", ")
        ))
    }
}

/// Builds the facade without its default features and checks what it depends on.
pub fn check_minimal_build(root: &Path) -> Result<(), String> {
    run(cargo()
        .current_dir(root)
        .args(["build", "-p", "millrace", "--no-default-features"]))?;
    let tree = capture(cargo().current_dir(root).args([
        "tree",
        "-p",
        "millrace",
        "--no-default-features",
        "--edges",
        "normal",
        "--prefix",
        "none",
    ]))?;
    let heavy = heavy_crates_in(&tree);
    if heavy.is_empty() {
        eprintln!("xtask: `millrace --no-default-features` depends on none of {HEAVY:?}");
        Ok(())
    } else {
        Err(format!(
            "`millrace --no-default-features` depends on {}: a feature does not gate what it should",
            heavy.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_crates_are_found_by_name_not_by_prefix() {
        let tree = "millrace v0.1.0 (/w)\nrusqlite v0.43.0\nserde v1.0.0\nparquet-derive v1\n";
        assert_eq!(heavy_crates_in(tree), ["rusqlite"]);
        assert!(heavy_crates_in("millrace v0.1.0\nserde v1\n").is_empty());
        assert_eq!(
            crates_in(
                "millrace-tabular v0.1.0\nmillrace-core v0.1.0\n",
                PIPELINE_CRATES
            ),
            ["millrace-core"]
        );
    }
}
