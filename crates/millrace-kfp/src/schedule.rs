//! The recurring run of a scheduled pipeline: the body of Vertex AI's `schedules.create` and a
//! KFP `RecurringRun`. Schedules are not part of the KFP IR; the backend keeps them.

use millrace_core::Pipeline;
use millrace_core::spec::ScheduleSpec;
use serde_json::{Map, Value, json};

use crate::{KfpError, KfpPipeline};

/// The pipeline's cron expression as five unix cron fields (Vertex's dialect): presets such as
/// `@daily` spelled out; `@once` is not a recurring run.
pub fn unix_cron(schedule: &ScheduleSpec) -> Result<String, KfpError> {
    let cron = schedule.cron.trim();
    let fields = match cron {
        "@hourly" => "0 * * * *",
        "@daily" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@once" => {
            return Err(KfpError::Schedule(
                "`@once` is not a recurring run: submit one run instead".to_owned(),
            ));
        }
        other if other.starts_with('@') => {
            return Err(KfpError::Schedule(format!("unknown cron preset `{other}`")));
        }
        other => other,
    };
    Ok(fields.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The pipeline's cron expression in KFP's dialect (robfig/cron): six fields, seconds first
/// (`0`), and Sunday only as `0` (robfig's day of week runs from 0 to 6).
pub fn kfp_cron(schedule: &ScheduleSpec) -> Result<String, KfpError> {
    if let Some(zone) = schedule.timezone.as_deref().filter(|zone| *zone != "UTC") {
        return Err(KfpError::Schedule(format!(
            "a KFP recurring run has no time zone: its cron reads in the API server's (UTC), so `{}` in {zone} cannot be written as one; use --schedule vertex, Argo's CronWorkflow or Airflow, which keep the zone, or give the schedule in UTC",
            schedule.cron
        )));
    }
    let unix = unix_cron(schedule)?;
    let mut fields: Vec<String> = unix.split(' ').map(str::to_owned).collect();
    if let Some(day_of_week) = fields.last_mut() {
        let items: Vec<String> = day_of_week
            .split(',')
            .map(|item| match item {
                "7" | "SUN" | "sun" => "0".to_owned(),
                range => match range.strip_suffix("-7") {
                    Some(low) => format!("{low}-6,0"),
                    None => range.to_owned(),
                },
            })
            .collect();
        *day_of_week = items.join(",");
    }
    Ok(format!("0 {}", fields.join(" ")))
}

/// The RFC 3339 start of the schedule's first day, UTC.
fn start_time(schedule: &ScheduleSpec) -> Option<String> {
    schedule
        .start_date
        .as_ref()
        .map(|date| format!("{date}T00:00:00Z"))
}

fn schedule_of(pipeline: &Pipeline) -> Option<&ScheduleSpec> {
    pipeline.spec().schedule.as_ref()
}

/// The JSON body of Vertex AI's `projects.locations.schedules.create` for the pipeline's
/// schedule, running the compiled pipeline stored at `template_uri` (a `gs://` path or an
/// Artifact Registry URL) under `parent` (`projects/P/locations/L`); `None` when the pipeline
/// has no schedule. At most `max_active_runs` runs at once (1 when not given: trainings should
/// not overlap); `catchUp` is the schedule's catch-up.
pub fn vertex_schedule(
    pipeline: &Pipeline,
    compiled: &KfpPipeline,
    parent: &str,
    template_uri: &str,
) -> Result<Option<Value>, KfpError> {
    let Some(schedule) = schedule_of(pipeline) else {
        return Ok(None);
    };
    let name = compiled.spec["pipelineInfo"]["name"].clone();
    let mut pipeline_job = Map::new();
    pipeline_job.insert("displayName".into(), name.clone());
    pipeline_job.insert("templateUri".into(), template_uri.into());
    if let Some(root) = compiled.spec.get("defaultPipelineRoot") {
        pipeline_job.insert("runtimeConfig".into(), json!({"gcsOutputDirectory": root}));
    }
    let mut body = Map::new();
    body.insert("displayName".into(), name);
    // Vertex reads a `TZ=` prefix as the cron expression's time zone.
    let cron = match schedule.timezone.as_deref() {
        Some(zone) if zone != "UTC" => format!("TZ={zone} {}", unix_cron(schedule)?),
        _ => unix_cron(schedule)?,
    };
    body.insert("cron".into(), cron.into());
    if let Some(start) = start_time(schedule) {
        body.insert("startTime".into(), start.into());
    }
    body.insert(
        "maxConcurrentRunCount".into(),
        schedule.max_active_runs.unwrap_or(1).to_string().into(),
    );
    body.insert("catchUp".into(), schedule.catchup.into());
    body.insert(
        "createPipelineJobRequest".into(),
        json!({"parent": parent, "pipelineJob": pipeline_job}),
    );
    Ok(Some(Value::Object(body)))
}

/// A KFP `V2beta1RecurringRun` (the body of `POST /apis/v2beta1/recurringruns`) for the
/// pipeline's schedule, with the compiled pipeline inline; `None` without a schedule. KFP's cron
/// has six fields, seconds first: the pipeline's five are prefixed with `0`.
pub fn kfp_recurring_run(
    pipeline: &Pipeline,
    compiled: &KfpPipeline,
) -> Result<Option<Value>, KfpError> {
    let Some(schedule) = schedule_of(pipeline) else {
        return Ok(None);
    };
    let mut cron_schedule = Map::new();
    cron_schedule.insert("cron".into(), kfp_cron(schedule)?.into());
    if let Some(start) = start_time(schedule) {
        cron_schedule.insert("start_time".into(), start.into());
    }
    let mut run = Map::new();
    run.insert(
        "display_name".into(),
        compiled.spec["pipelineInfo"]["name"].clone(),
    );
    if let Some(description) = &pipeline.spec().description {
        run.insert("description".into(), description.clone().into());
    }
    run.insert("pipeline_spec".into(), compiled.spec.clone());
    run.insert(
        "trigger".into(),
        json!({"cron_schedule": Value::Object(cron_schedule)}),
    );
    run.insert(
        "max_concurrency".into(),
        schedule.max_active_runs.unwrap_or(1).to_string().into(),
    );
    run.insert("no_catchup".into(), (!schedule.catchup).into());
    run.insert("mode".into(), "ENABLE".into());
    Ok(Some(Value::Object(run)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfp_cron_has_seconds_first_and_sunday_as_zero() {
        let cron = |text: &str| kfp_cron(&ScheduleSpec::cron(text)).unwrap();
        assert_eq!(cron("0 3 * * *"), "0 0 3 * * *");
        assert_eq!(cron("@weekly"), "0 0 0 * * 0");
        assert_eq!(cron("0 3 * * 7"), "0 0 3 * * 0");
        assert_eq!(cron("0 3 * * 5-7,2"), "0 0 3 * * 5-6,0,2");
        assert!(kfp_cron(&ScheduleSpec::cron("@once")).is_err());
    }
}
