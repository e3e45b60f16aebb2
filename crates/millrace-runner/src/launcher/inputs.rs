//! Step 2: the node's inputs — the artifacts its producers hold in this run.
//!
//! A channel input reads the outputs of the newest successful execution of its producer in
//! this run (a resolver's selection is such an output too). A required input with no artifact
//! fails the node with the producer named; optional inputs with none are left out.

use std::collections::BTreeMap;

use millrace_core::spec::{NodeSpec, TaskSpec};
use millrace_metadata::Artifact;

use super::NodeLauncher;
use crate::error::Result;
use crate::launcher::NodeOutcome;

/// The artifacts of each input, by input name.
pub(super) type Inputs = BTreeMap<String, Vec<Artifact>>;

impl NodeLauncher<'_> {
    /// The node's input artifacts, or how the node ended when a required one is missing.
    pub(super) async fn resolve_inputs(
        &self,
        node: &NodeSpec,
    ) -> Result<std::result::Result<Inputs, NodeOutcome>> {
        let mut inputs = Inputs::new();
        for (name, input) in &node.inputs {
            let artifacts = self.channel_in_run(&input.channel).await?;
            inputs.insert(name.clone(), artifacts);
        }
        let registration = match &node.task {
            TaskSpec::Component { kind, .. } => self.pipeline.registry().component(kind),
            _ => None,
        };
        if let Some(interface) = registration.map(|registration| registration.interface()) {
            for declared in &interface.inputs {
                let empty = inputs.get(declared.name).is_none_or(Vec::is_empty);
                if empty && !declared.optional {
                    let producer = node
                        .inputs
                        .get(declared.name)
                        .map(|input| input.channel.to_string())
                        .unwrap_or_default();
                    let message = format!(
                        "required input `{}` has no artifact (from `{producer}`)",
                        declared.name
                    );
                    return self.record_failure(node, &inputs, message).await.map(Err);
                }
            }
        }
        inputs.retain(|_, artifacts| !artifacts.is_empty());
        Ok(Ok(inputs))
    }

    /// The inputs with each URI replaced by the local directory holding the artifact: itself
    /// on a local root; a verified copy in the local cache for an object URI, downloaded when
    /// the cache lacks it. An object URI outside the pipeline root (an imported one) is
    /// fetched as it is, with no manifest to check. The error names the input and the URL.
    pub(super) async fn materialise_inputs(
        &self,
        inputs: &Inputs,
    ) -> std::result::Result<Inputs, String> {
        let storage = self.layout.storage();
        let root = storage.root().to_string();
        let mut local = inputs.clone();
        for (name, artifacts) in &mut local {
            for artifact in artifacts {
                let Some(uri) = artifact.uri.clone() else {
                    continue;
                };
                let external = !uri.starts_with(&root);
                let path = storage.materialise(&uri, external).await.map_err(|error| {
                    format!("input `{name}` ({uri}) could not be read: {error}")
                })?;
                artifact.uri = Some(path.display().to_string());
            }
        }
        Ok(local)
    }
}
