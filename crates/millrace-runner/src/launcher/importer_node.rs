//! Importer nodes: an external URI registered as an artifact, once (unless told to reimport).

use std::collections::BTreeMap;

use millrace_core::spec::NodeSpec;
use millrace_metadata::{
    Artifact, ArtifactState, ExecutionState, NodeQuery, OrderBy, Properties, Value,
};
use serde_json::Value as Json;

use super::NodeLauncher;
use crate::error::{Result, RunnerError};
use crate::launcher::NodeOutcome;
use crate::state::NodeState;

/// The custom property that marks an imported artifact (TFX's name).
const IS_EXTERNAL: &str = "is_external";

impl NodeLauncher<'_> {
    /// Registers `source_uri` as the node's output artifact — reusing the newest artifact of
    /// that type already registered at the URI, unless `reimport`.
    pub(super) async fn run_importer(
        &self,
        node: &NodeSpec,
        source_uri: &str,
        reimport: bool,
        properties: &BTreeMap<String, Json>,
        custom_properties: &BTreeMap<String, Json>,
    ) -> Result<NodeOutcome> {
        let (output, spec) =
            node.outputs
                .iter()
                .next()
                .ok_or_else(|| RunnerError::InvalidNode {
                    node: node.id.clone(),
                    reason: "an importer needs an output".to_owned(),
                })?;
        let type_id = self.record.artifact_type(&spec.artifact_type)?;
        let existing = if reimport {
            None
        } else {
            self.store
                .get_artifacts(
                    &NodeQuery::all()
                        .of_type(&spec.artifact_type)
                        .with_uri(source_uri)
                        .order_by(OrderBy::Id)
                        .descending()
                        .limit(1),
                )
                .await?
                .into_iter()
                .next()
        };
        let artifact = match existing {
            Some(artifact) => artifact,
            None => {
                let convert = |map: &BTreeMap<String, Json>| -> Properties {
                    map.iter()
                        .filter_map(|(name, value)| Some((name.clone(), Value::from_json(value)?)))
                        .collect()
                };
                let mut custom = convert(custom_properties);
                custom.insert(IS_EXTERNAL.to_owned(), Value::Bool(true));
                let new = Artifact {
                    type_id,
                    uri: Some(source_uri.to_owned()),
                    state: ArtifactState::Live,
                    properties: convert(properties),
                    custom_properties: custom,
                    ..Artifact::default()
                };
                let id = self.store.put_artifacts(std::slice::from_ref(&new)).await?[0];
                Artifact {
                    id: Some(id),
                    ..new
                }
            }
        };
        let execution = self.execution(node, ExecutionState::Complete, &[])?;
        let outputs = BTreeMap::from([(output.clone(), vec![artifact])]);
        let id = self
            .record_links(node, execution, &BTreeMap::new(), &outputs)
            .await?;
        Ok(Self::outcome(node, NodeState::Complete, 1, Some(id), None))
    }
}
