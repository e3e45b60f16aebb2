//! The IR is a leaf: no code under `src/spec/` uses the authoring side of the crate (channels,
//! typed conditions, runtime parameters, components, the registry, the builder). Only the
//! fingerprint, itself a leaf, is shared. Documentation may link wherever it likes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly.

use std::path::{Path, PathBuf};

/// The modules of the crate the IR may use, besides itself.
const LEAVES: &[&str] = &["spec", "fingerprint"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// The crate-level modules a line of code names (`crate::channel::...` names `channel`).
fn crate_modules(line: &str) -> Vec<String> {
    line.match_indices("crate::")
        .map(|(at, matched)| {
            line[at + matched.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_ir_uses_nothing_of_the_authoring_side() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/spec");
    let mut offending = Vec::new();
    for file in rust_files(&spec) {
        for (number, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for module in crate_modules(code) {
                if !LEAVES.contains(&module.as_str()) {
                    offending.push(format!(
                        "{}:{}: uses crate::{module}",
                        file.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(offending.is_empty(), "{}", offending.join("\n"));
}

#[test]
fn the_check_sees_a_use_of_the_authoring_side() {
    assert_eq!(
        crate_modules("use crate::channel::ChannelSource; let x = crate::spec::Operand;"),
        ["channel", "spec"]
    );
}
