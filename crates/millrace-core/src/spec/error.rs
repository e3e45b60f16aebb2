//! The error type of `millrace-core`.

use crate::spec::problem::ValidationIssue;

/// Everything that can go wrong while building, reading or instantiating a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pipeline has problems; all of them are listed.
    #[error("pipeline `{pipeline}` is invalid ({} problem{}):\n{}",
        issues.len(),
        if issues.len() == 1 { "" } else { "s" },
        issues.iter().map(|issue| format!("  - {issue}")).collect::<Vec<_>>().join("\n"))]
    InvalidPipeline {
        /// The pipeline's name.
        pipeline: String,
        /// Every problem found.
        issues: Vec<ValidationIssue>,
    },
    /// A spec is not well-formed JSON, or not shaped like a spec.
    #[error("the pipeline spec cannot be read (line {line}, column {column}): {message}")]
    SpecJson {
        /// The line of the error.
        line: usize,
        /// The column of the error.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A node id that the pipeline does not have.
    #[error("pipeline `{pipeline}` has no node `{node}` (its nodes: {known})")]
    UnknownNode {
        /// The pipeline.
        pipeline: String,
        /// The id asked for.
        node: String,
        /// The ids it has.
        known: String,
    },
    /// A runtime parameter value that is unknown, missing or of the wrong type.
    #[error("runtime parameter `{name}`: {message}")]
    Parameter {
        /// The parameter.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A node's component cannot be rebuilt from its configuration.
    #[error("node `{node}`: {message}")]
    Instantiate {
        /// The node.
        node: String,
        /// Why.
        message: String,
    },
}

impl Error {
    /// The validation problems, if this is an invalid pipeline.
    pub fn issues(&self) -> &[ValidationIssue] {
        match self {
            Error::InvalidPipeline { issues, .. } => issues,
            _ => &[],
        }
    }
}

/// The error of `Pipeline::builder(..).build()`: the name the design uses for [`Error`].
pub type BuildError = Error;
