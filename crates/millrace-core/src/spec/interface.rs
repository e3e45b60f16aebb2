//! A component kind's declared interface as data: its inputs and outputs with their artifact
//! types. The typed API derives it from a component's input and output sets; validation checks
//! every node of the IR against it.
//!
//! ```
//! use millrace_core::spec::interface::{ComponentInterface, InputDeclaration};
//! use millrace_core::Artifact;
//! use millrace_core::artifact::standard::Examples;
//!
//! let interface = ComponentInterface {
//!     inputs: vec![InputDeclaration { name: "examples", artifact_type: Examples::info(), optional: false }],
//!     outputs: vec![],
//! };
//! assert!(interface.input("examples").is_some());
//! assert!(interface.output("model").is_none());
//! ```

use crate::spec::artifact_type::ArtifactTypeInfo;

/// One declared input of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputDeclaration {
    /// The input's name.
    pub name: &'static str,
    /// The artifact type it accepts.
    pub artifact_type: ArtifactTypeInfo,
    /// Whether the node may leave it unconnected.
    pub optional: bool,
}

/// One declared output of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputDeclaration {
    /// The output's name.
    pub name: &'static str,
    /// The artifact type it produces.
    pub artifact_type: ArtifactTypeInfo,
}

/// The declared interface of a component kind, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInterface {
    /// The inputs.
    pub inputs: Vec<InputDeclaration>,
    /// The outputs.
    pub outputs: Vec<OutputDeclaration>,
}

impl ComponentInterface {
    /// The declared input called `name`.
    pub fn input(&self, name: &str) -> Option<&InputDeclaration> {
        self.inputs.iter().find(|input| input.name == name)
    }

    /// The declared output called `name`.
    pub fn output(&self, name: &str) -> Option<&OutputDeclaration> {
        self.outputs.iter().find(|output| output.name == name)
    }
}
