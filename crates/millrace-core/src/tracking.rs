//! What a component tracks beside its outputs: parameters, stepped metrics (a training
//! curve), tags, a note, small files, and requests to register a model. Components only
//! describe them; the runner records them in the store's tracking tables and registry, so a
//! component never touches the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One value of a metric at a step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricStep {
    /// The value.
    pub value: f64,
    /// The training step.
    pub step: i64,
    /// Milliseconds since the epoch when it was logged.
    pub timestamp: i64,
}

/// A request to register one of the execution's input models under a name, and optionally to
/// point an alias at the new version.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelRegistration {
    /// The input whose Model artifact is registered (`model`).
    pub input: String,
    /// The registered model's name.
    pub name: String,
    /// An alias to move to the new version (`champion`).
    pub alias: Option<String>,
    /// Why the alias moves, or why it does not (recorded with the decision).
    pub reason: String,
    /// The version's description.
    pub description: String,
    /// The version's tags.
    pub tags: BTreeMap<String, String>,
}

/// Everything an execution tracked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tracked {
    /// Parameters: one value per name.
    pub params: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Metric points by name, in the order logged.
    pub curves: BTreeMap<String, Vec<MetricStep>>,
    /// Small files kept with the execution's run: name (a relative path) → contents.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Models to register.
    pub registrations: Vec<ModelRegistration>,
}

impl Tracked {
    /// Whether nothing was tracked.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
            && self.tags.is_empty()
            && self.curves.is_empty()
            && self.files.is_empty()
            && self.registrations.is_empty()
    }
}

/// The tag MLflow shows as a run's description.
pub const NOTE_TAG: &str = "mlflow.note.content";

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
