//! What the manifest suites share: a component whose nodes may be sharded.

#![allow(dead_code)]

use millrace_core::prelude::*;

/// A component whose nodes may be sharded (what StatisticsGen, Transform and BulkInferrer
/// declare), to compile a sharded node.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Profile {}

/// Profile's output.
pub struct ProfileOutputs {
    /// The profile.
    pub profile: Channel<Dataset>,
}

impl OutputSet for ProfileOutputs {
    fn declarations() -> Vec<OutputDeclaration> {
        vec![OutputDeclaration::of::<Dataset>("profile")]
    }
    fn bind(node: NodeHandle) -> Self {
        ProfileOutputs {
            profile: node.channel("profile"),
        }
    }
}

impl Component for Profile {
    const KIND: &'static str = "argo_test.Profile";
    const SHARDABLE: bool = true;
    type Inputs = ();
    type Outputs = ProfileOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["true"]))
    }
}

millrace_core::register_component!(Profile);
