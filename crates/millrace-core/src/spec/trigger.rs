//! Data-arrival triggers: run the pipeline when new data lands where an ingesting node reads
//! it — a new span under an example generator's input pattern.
//!
//! The spec says only which node's input to watch and how long the new data must stay
//! unchanged before it counts (the debounce: a span copied file by file is one arrival, not
//! many). Watching is the scheduler's work (`serve`); each span fires once, recorded in the
//! store's trigger ledger under `new-data:<node>`.
//!
//! ```
//! use millrace_core::spec::DataTrigger;
//!
//! let trigger = DataTrigger::on("example_gen").debounce_seconds(10);
//! assert_eq!(trigger.name(), "new-data:example_gen");
//! assert!(trigger.problems().is_empty());
//! assert_eq!(DataTrigger::on("example_gen").debounce_seconds(0).problems().len(), 1);
//! ```

use serde::{Deserialize, Serialize};

/// The prefix of a data trigger's name in the trigger ledger.
pub const NEW_DATA_TRIGGER_PREFIX: &str = "new-data:";
/// The debounce unless set: new data must stay unchanged this long.
pub const DEFAULT_DEBOUNCE_SECONDS: u32 = 5;
/// The longest debounce accepted (a day).
const MAX_DEBOUNCE_SECONDS: u32 = 86_400;

/// A run whenever new data arrives under a node's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataTrigger {
    /// The ingesting node whose input is watched.
    pub node: String,
    /// How long new data must stay unchanged (no file added, grown or touched) before a run
    /// starts.
    #[serde(default = "default_debounce")]
    pub debounce_seconds: u32,
}

fn default_debounce() -> u32 {
    DEFAULT_DEBOUNCE_SECONDS
}

impl DataTrigger {
    /// A trigger on node `node`'s input, with the default debounce.
    pub fn on(node: impl Into<String>) -> Self {
        DataTrigger {
            node: node.into(),
            debounce_seconds: DEFAULT_DEBOUNCE_SECONDS,
        }
    }

    /// Sets the debounce.
    pub fn debounce_seconds(mut self, seconds: u32) -> Self {
        self.debounce_seconds = seconds;
        self
    }

    /// The trigger's name in the ledger: `new-data:<node>`.
    pub fn name(&self) -> String {
        format!("{NEW_DATA_TRIGGER_PREFIX}{}", self.node)
    }

    /// What is wrong with it on its own (the node's existence is checked with the pipeline).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=MAX_DEBOUNCE_SECONDS).contains(&self.debounce_seconds) {
            problems.push(format!(
                "the debounce of the data trigger on `{}` is {} s; use 1 to {MAX_DEBOUNCE_SECONDS} s",
                self.node, self.debounce_seconds
            ));
        }
        problems
    }
}
