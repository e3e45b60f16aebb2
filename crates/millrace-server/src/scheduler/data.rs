//! Data-arrival triggers: a run when a new span lands under an ingesting node's input.
//!
//! **What is watched.** Each [`DataTrigger`] of the pipeline names a node; the node's
//! component says what it ingests ([`millrace_core::Execute::watched_input`]): its input
//! pattern and the newest span present — a key (`span-3`, `span-3/v2`), the span's file
//! count, size and latest modification. Files whose names start with `.` are not seen, so a
//! copy written as `.part` and renamed arrives whole.
//!
//! **What counts as new.** Data that arrives after the trigger is first watched. The first
//! time a scheduler watches a trigger (the ledger has nothing for it), what is there is
//! recorded as the baseline — claimed with no run ([`BASELINE_RUN_ID`]), or [`NO_DATA_KEY`]
//! when nothing is — so starting `serve` does not run the pipeline on old data; after that a
//! span that lands while `serve` is down is new, and runs when it is back.
//!
//! **When it fires.** A key that the ledger has not seen becomes *pending*; it fires once it
//! has stayed unchanged — same files, size and modification — for the trigger's debounce,
//! so a span copied file by file starts one run, after the last file. Firing claims the key
//! in the trigger ledger under `new-data:<node>` before the run starts (the same claim as a
//! cron tick), so each span runs once even across restarts of `serve` and with two
//! schedulers on one store, and a claim whose run never began is started after a crash.
//! Only the newest span fires: an ingesting node reads the newest span, so spans that were
//! overtaken before their debounce ended are ingested by the newer span's run.
//!
//! **Cost.** One listing of the pattern per trigger per look (once a second), on a blocking
//! thread: the directory walk an example generator does itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use millrace_core::spec::DataTrigger;
use millrace_core::{DataSpan, Executor, Pipeline, WatchedInput};

/// The run id the ledger records for a baseline: the data present when the trigger was first
/// watched, which starts no run.
pub const BASELINE_RUN_ID: &str = "";
/// The baseline key when no data was present.
pub const NO_DATA_KEY: &str = "(no data)";

/// A data trigger of a pipeline, with what its node watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedTrigger {
    /// The trigger as the pipeline declares it.
    pub trigger: DataTrigger,
    /// The node's input pattern (`?` when the node cannot say).
    pub pattern: String,
}

impl WatchedTrigger {
    /// The trigger's name in the ledger: `new-data:<node>`.
    pub fn name(&self) -> String {
        self.trigger.name()
    }
}

/// The data triggers of `pipeline`, each with its node's input pattern.
pub fn data_triggers(pipeline: &Pipeline) -> Vec<WatchedTrigger> {
    pipeline
        .spec()
        .data_triggers
        .iter()
        .map(|trigger| WatchedTrigger {
            trigger: trigger.clone(),
            pattern: watched_input(pipeline, &trigger.node)
                .map_or_else(|_| "?".to_owned(), |watched| watched.pattern),
        })
        .collect()
}

/// What node `node` of `pipeline` ingests now (with the parameters' defaults).
pub fn watched_input(pipeline: &Pipeline, node: &str) -> Result<WatchedInput, String> {
    let parameters = pipeline
        .parameter_values(&BTreeMap::new())
        .map_err(|error| error.to_string())?;
    let component = pipeline
        .instantiate(node, &parameters)
        .map_err(|error| error.to_string())?;
    let Executor::InProcess(execute) = component.execution() else {
        return Err(format!(
            "node `{node}` runs as a command; a data trigger watches an in-process ingesting node (CsvExampleGen, ImportExampleGen)"
        ));
    };
    execute
        .watched_input()
        .map_err(|error| error.to_string())?
        .ok_or_else(|| {
            format!(
                "node `{node}` ingests no outside data it can watch (use a data trigger on an example generator)"
            )
        })
}

/// The run id of the run a span fired: `new-data-<node>-<key>`, `/` read as `-`.
pub fn data_run_id(node: &str, key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("new-data-{node}-{key}")
}

/// A span waiting out its debounce.
#[derive(Debug, Clone)]
struct Pending {
    span: DataSpan,
    since: Instant,
}

/// The data triggers' watch: what each has pending and which keys it knows were claimed.
#[derive(Debug, Default)]
pub(crate) struct DataWatch {
    pending: BTreeMap<String, Pending>,
    claimed: BTreeMap<String, String>,
}

/// What a look at one trigger found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Look {
    /// Nothing new, or new and still settling.
    Nothing,
    /// A new span that has settled: claim it.
    Ready(String),
}

impl DataWatch {
    /// Looks at `trigger`'s newest span `latest`, at `now`.
    pub(crate) fn look(
        &mut self,
        trigger: &DataTrigger,
        latest: Option<DataSpan>,
        now: Instant,
    ) -> Look {
        let name = trigger.name();
        let Some(span) = latest else {
            self.pending.remove(&name);
            return Look::Nothing;
        };
        if self.claimed.get(&name) == Some(&span.key) {
            self.pending.remove(&name);
            return Look::Nothing;
        }
        match self.pending.get(&name) {
            Some(pending) if pending.span == span => {
                let settled = now.saturating_duration_since(pending.since)
                    >= Duration::from_secs(u64::from(trigger.debounce_seconds));
                if settled {
                    Look::Ready(span.key)
                } else {
                    Look::Nothing
                }
            }
            _ => {
                self.pending.insert(name, Pending { span, since: now });
                Look::Nothing
            }
        }
    }

    /// Records that `key` of `trigger` is claimed (by this scheduler or another).
    pub(crate) fn claimed(&mut self, trigger: &str, key: &str) {
        self.pending.remove(trigger);
        self.claimed.insert(trigger.to_owned(), key.to_owned());
    }
}

/// The newest span of `node`, read on a blocking thread.
pub(crate) async fn latest_span(
    pipeline: Arc<Pipeline>,
    node: String,
) -> Result<Option<DataSpan>, String> {
    tokio::task::spawn_blocking(move || watched_input(&pipeline, &node).map(|w| w.latest))
        .await
        .map_err(|error| error.to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(key: &str, files: usize) -> DataSpan {
        DataSpan {
            key: key.to_owned(),
            files,
            bytes: 100 * files as u64,
            modified_ms: files as i64,
        }
    }

    #[test]
    fn a_new_span_fires_once_it_has_stayed_unchanged_for_the_debounce() {
        let trigger = DataTrigger::on("example_gen").debounce_seconds(5);
        let mut watch = DataWatch::default();
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        assert_eq!(
            watch.look(&trigger, Some(span("span-2", 1)), at(0)),
            Look::Nothing
        );
        // A second file lands: the debounce starts again.
        assert_eq!(
            watch.look(&trigger, Some(span("span-2", 2)), at(4)),
            Look::Nothing
        );
        assert_eq!(
            watch.look(&trigger, Some(span("span-2", 2)), at(8)),
            Look::Nothing
        );
        assert_eq!(
            watch.look(&trigger, Some(span("span-2", 2)), at(9)),
            Look::Ready("span-2".to_owned())
        );
        watch.claimed(&trigger.name(), "span-2");
        assert_eq!(
            watch.look(&trigger, Some(span("span-2", 2)), at(30)),
            Look::Nothing
        );
    }

    #[test]
    fn no_data_and_known_spans_fire_nothing() {
        let trigger = DataTrigger::on("example_gen").debounce_seconds(1);
        let mut watch = DataWatch::default();
        let start = Instant::now();
        assert_eq!(watch.look(&trigger, None, start), Look::Nothing);
        watch.claimed(&trigger.name(), "span-1");
        assert_eq!(
            watch.look(&trigger, Some(span("span-1", 1)), start),
            Look::Nothing
        );
        let later = start + Duration::from_secs(10);
        assert_eq!(
            watch.look(&trigger, Some(span("span-1", 1)), later),
            Look::Nothing
        );
    }

    #[test]
    fn run_ids_of_spans_are_plain() {
        assert_eq!(
            data_run_id("example_gen", "span-3/v2"),
            "new-data-example_gen-span-3-v2"
        );
    }
}
