//! What a pipeline needs of Python: its Python command nodes and the pinned packages they use.
//!
//! A node needs Python when it is a command component whose program is `python`, `python3` or
//! `python3.X` (its [`CommandSpec`](millrace_core::spec::command::CommandSpec), rebuilt from
//! the IR). The image then gets Debian's `python3` and a virtual environment first on `PATH`
//! (so `python3` in a command is the environment's), with these packages:
//!
//! | what | packages |
//! |---|---|
//! | every Python node | [`PYTHON_BASE_PACKAGES`]: pyarrow, numpy (the model script reads Examples with them) |
//! | a node that declares `--framework NAME` (Millrace's model script, e.g. `PythonTrainer`) | that framework's pins in [`FRAMEWORK_PACKAGES`] |
//! | a node that declares no framework | the frameworks of [`DEFAULT_FRAMEWORKS`] (scikit-learn) |
//!
//! The pins are those of the project's tested Python environments
//! (`tools/python/requirements.txt`, and `tools/trainers/requirements.txt` for TensorFlow and
//! Keras); `ContainerfileOptions::python_packages` replaces them. An image made for some nodes
//! only ([`mod@crate::node_images`]) gets the packages of those nodes only: one framework per image.

use std::collections::{BTreeMap, BTreeSet};

use millrace_core::spec::TaskSpec;
use millrace_core::{Executor, Pipeline};

use crate::error::Result;

/// Packages every Python node gets.
pub const PYTHON_BASE_PACKAGES: &[&str] = &["numpy==2.4.6", "pyarrow==26.0.1"];

/// The pinned packages of each framework the model script knows (`--framework NAME`).
pub const FRAMEWORK_PACKAGES: &[(&str, &[&str])] = &[
    ("sklearn", &["joblib==1.6.0", "scikit-learn==1.9.1"]),
    ("xgboost", &["xgboost-cpu==3.2.0"]),
    ("pytorch", &["torch==2.15.0"]),
    ("tensorflow", &["keras==3.15.1", "tensorflow-cpu==2.21.0"]),
];

/// The frameworks of a Python node that declares none.
pub const DEFAULT_FRAMEWORKS: &[&str] = &["sklearn"];

/// A node that runs Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonNode {
    /// The node.
    pub node: String,
    /// Its interpreter as its command names it (`python3`, or a path).
    pub program: String,
    /// The frameworks it declares (`--framework NAME`), empty if none.
    pub frameworks: Vec<String>,
}

impl PythonNode {
    /// Whether the interpreter is a path of the machine that built the pipeline (a virtual
    /// environment's `bin/python`), which the image does not have.
    pub fn names_a_host_path(&self) -> bool {
        self.program.contains('/')
    }
}

/// The Python command nodes of `pipeline`, in execution order. Components are rebuilt with the
/// parameters' defaults (a parameter without one counts as `null`).
pub fn python_nodes(pipeline: &Pipeline) -> Result<Vec<PythonNode>> {
    let parameters: BTreeMap<String, serde_json::Value> = pipeline
        .spec()
        .parameters
        .iter()
        .map(|parameter| {
            (
                parameter.name.clone(),
                parameter.default.clone().unwrap_or(serde_json::Value::Null),
            )
        })
        .collect();
    let mut nodes = Vec::new();
    for node in pipeline.nodes_in_order() {
        if !matches!(node.task, TaskSpec::Component { .. }) {
            continue;
        }
        let component = pipeline.instantiate(&node.id, &parameters)?;
        let Executor::Command(command) = component.execution() else {
            continue;
        };
        let Some(program) = command.command.first() else {
            continue;
        };
        if !is_python(program) {
            continue;
        }
        let arguments: Vec<&String> = command.command.iter().chain(&command.args).collect();
        let frameworks = arguments
            .windows(2)
            .filter(|pair| pair[0] == "--framework")
            .map(|pair| pair[1].clone())
            .collect();
        nodes.push(PythonNode {
            node: node.id.clone(),
            program: program.clone(),
            frameworks,
        });
    }
    Ok(nodes)
}

/// Whether `program` is a Python interpreter: `python`, `python3`, `python3.11`, with or without
/// a directory.
fn is_python(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    name.strip_prefix("python")
        .is_some_and(|version| version.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The pinned packages `nodes` need, sorted: the base packages and each node's frameworks (or
/// the default ones). A framework without pins is installed unpinned, by its name.
pub fn pinned_packages(nodes: &[PythonNode]) -> Vec<String> {
    let mut packages: BTreeSet<String> = BTreeSet::new();
    if nodes.is_empty() {
        return Vec::new();
    }
    packages.extend(
        PYTHON_BASE_PACKAGES
            .iter()
            .map(|&package| package.to_owned()),
    );
    for node in nodes {
        let declared: Vec<&str> = node.frameworks.iter().map(String::as_str).collect();
        let frameworks = if declared.is_empty() {
            DEFAULT_FRAMEWORKS
        } else {
            &declared[..]
        };
        for framework in frameworks {
            match FRAMEWORK_PACKAGES
                .iter()
                .find(|(name, _)| name == framework)
            {
                Some((_, pins)) => packages.extend(pins.iter().map(|&pin| pin.to_owned())),
                None => {
                    packages.insert((*framework).to_owned());
                }
            }
        }
    }
    packages.into_iter().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn python_interpreters_are_recognised_by_name() {
        for program in ["python", "python3", "python3.11", "/opt/venv/bin/python"] {
            assert!(is_python(program), "{program}");
        }
        for program in ["sh", "pythonista", "/usr/bin/wc", "ipython"] {
            assert!(!is_python(program), "{program}");
        }
    }

    #[test]
    fn declared_frameworks_get_their_pins_and_undeclared_ones_the_default() {
        let node = |frameworks: &[&str]| PythonNode {
            node: "trainer".to_owned(),
            program: "python3".to_owned(),
            frameworks: frameworks.iter().map(|&f| f.to_owned()).collect(),
        };
        assert_eq!(
            pinned_packages(&[node(&["xgboost"])]),
            ["numpy==2.4.6", "pyarrow==26.0.1", "xgboost-cpu==3.2.0"]
        );
        assert_eq!(
            pinned_packages(&[node(&[])]),
            [
                "joblib==1.6.0",
                "numpy==2.4.6",
                "pyarrow==26.0.1",
                "scikit-learn==1.9.1"
            ]
        );
        assert!(pinned_packages(&[node(&["lightgbm"])]).contains(&"lightgbm".to_owned()));
        assert!(pinned_packages(&[]).is_empty());
    }
}
