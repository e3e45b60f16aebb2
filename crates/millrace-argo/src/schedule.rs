//! A pipeline's schedule as a `CronWorkflow` spec (Argo v4: `schedules` is a list; the v3
//! singular `schedule` is rejected).

use millrace_core::spec::ScheduleSpec;
use serde_json::{Value, json};

/// How long after a missed time a run may still start, when the schedule catches up. Argo
/// starts at most one run for the times missed during an outage, whatever their number.
pub const CATCH_UP_SECONDS: u64 = 24 * 60 * 60;

/// The `CronWorkflow` spec of `schedule` running `workflow_spec`.
///
/// - the five-field cron expression or preset (`@daily`) as the only schedule, in `timezone`;
/// - `max_active_runs: 1` as `concurrencyPolicy: Forbid`; any other bound as `Allow` (Argo
///   cannot bound concurrent runs at a number above one without a semaphore ConfigMap);
/// - `catchup` as `startingDeadlineSeconds` ([`CATCH_UP_SECONDS`]); without it none, so missed
///   times are not run;
/// - `start_date` has no CronWorkflow field and is not written.
pub fn cron_workflow_spec(schedule: &ScheduleSpec, timezone: &str, workflow_spec: Value) -> Value {
    let mut spec = json!({
        "schedules": [schedule.cron],
        "timezone": timezone,
        "concurrencyPolicy": if schedule.max_active_runs == Some(1) { "Forbid" } else { "Allow" },
    });
    spec["workflowSpec"] = workflow_spec;
    if schedule.catchup {
        spec["startingDeadlineSeconds"] = json!(CATCH_UP_SECONDS);
    }
    spec
}
