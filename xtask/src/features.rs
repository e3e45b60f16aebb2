//! The facade's features really gate: `millrace` without its default features builds, and
//! pulls in none of the heavy crates that only the store, the runner and the components need.
//!
//! `cargo xtask lint` runs [`check_minimal_build`]: it builds `-p millrace --no-default-features`
//! and reads that build's normal (non-dev) dependency tree from `cargo tree`.

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
];

/// The heavy crates in a `cargo tree --prefix none` listing.
pub fn heavy_crates_in(tree: &str) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| HEAVY.contains(name))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
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
    }
}
