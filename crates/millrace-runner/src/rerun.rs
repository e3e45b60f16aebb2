//! Reproducing a run: the same pipeline, the same parameter values — refused, with what
//! differs, when this binary's pipeline is not the one the run ran.
//!
//! A run records its pipeline's fingerprint and each node's (on its `pipeline_run` context);
//! `rerun` compares them with this binary's, so a refusal names the nodes that changed, were
//! added or were removed, not only two digests.

use std::collections::BTreeMap;

use millrace_core::Pipeline;
use millrace_metadata::{MetadataStore, Value};
use serde_json::Value as Json;

use crate::error::{Result, RunnerError};
use crate::properties;
use crate::record::{recorded_parameters, run_context};

/// How this binary's pipeline differs from the one a run ran, node by node.
pub fn node_differences(
    recorded: &BTreeMap<String, String>,
    ours: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut differences = Vec::new();
    for (node, digest) in ours {
        match recorded.get(node) {
            None => differences.push(format!("node `{node}` is new")),
            Some(theirs) if theirs != digest => {
                differences.push(format!("node `{node}` changed"));
            }
            Some(_) => {}
        }
    }
    for node in recorded.keys().filter(|node| !ours.contains_key(*node)) {
        differences.push(format!("node `{node}` was removed"));
    }
    differences
}

/// The parameter values to run `run_id` again with, after checking that this binary's
/// pipeline is the one it ran.
pub async fn rerun_parameters(
    store: &dyn MetadataStore,
    pipeline: &Pipeline,
    run_id: &str,
) -> Result<BTreeMap<String, Json>> {
    let run = run_context(store, run_id).await?;
    let recorded = match run.custom_properties.get(properties::FINGERPRINT) {
        Some(Value::String(fingerprint)) => fingerprint.clone(),
        _ => String::new(),
    };
    let ours = pipeline.fingerprint().to_hex();
    if recorded != ours {
        let recorded_nodes: BTreeMap<String, String> =
            match run.custom_properties.get(properties::NODE_FINGERPRINTS) {
                Some(Value::Struct(nodes)) => nodes
                    .iter()
                    .map(|(node, digest)| (node.clone(), digest.as_str().unwrap_or("").to_owned()))
                    .collect(),
                _ => BTreeMap::new(),
            };
        let our_nodes = crate::record::node_fingerprints(pipeline);
        let mut differences = if recorded_nodes.is_empty() {
            vec!["the run recorded no node fingerprints (it predates them)".to_owned()]
        } else {
            node_differences(&recorded_nodes, &our_nodes)
        };
        if differences.is_empty() {
            differences.push(
                "every node is the same: the pipeline's name, description, parameters or schedule changed"
                    .to_owned(),
            );
        }
        return Err(RunnerError::RerunOfChangedPipeline {
            run_id: run_id.to_owned(),
            recorded,
            ours,
            differences,
        });
    }
    Ok(recorded_parameters(&run, pipeline.spec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_changed_new_and_removed_nodes() {
        let recorded = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
            ("gone".to_owned(), "3".to_owned()),
        ]);
        let ours = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "9".to_owned()),
            ("new".to_owned(), "4".to_owned()),
        ]);
        assert_eq!(
            node_differences(&recorded, &ours),
            [
                "node `b` changed",
                "node `new` is new",
                "node `gone` was removed"
            ]
        );
    }
}
