//! Schedules: when a deployed pipeline runs — a cron expression or preset, a start date,
//! catch-up and a bound on concurrent runs — and the checks that validation applies to them.
//!
//! ```
//! use millrace_core::Schedule;
//!
//! let nightly = Schedule::cron("0 3 * * *").start_date("2026-01-01").max_active_runs(1);
//! assert_eq!(nightly.cron, "0 3 * * *");
//! assert!(millrace_core::spec::schedule::check_cron("0 3 * *").is_err());
//! ```

use serde::{Deserialize, Serialize};

/// When the pipeline runs on a scheduler (Airflow, Argo CronWorkflow, Vertex schedules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// A five-field cron expression or a preset such as `@daily`.
    pub cron: String,
    /// The first date a run is scheduled for, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Whether missed intervals are run after a pause.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catchup: bool,
    /// At most this many runs at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_active_runs: Option<u32>,
}

/// A schedule for the pipeline, as the builder takes it: the IR's [`ScheduleSpec`].
pub type Schedule = ScheduleSpec;

impl ScheduleSpec {
    /// Runs on a five-field cron expression or a preset such as `@daily`.
    pub fn cron(expression: impl Into<String>) -> Self {
        ScheduleSpec {
            cron: expression.into(),
            start_date: None,
            catchup: false,
            max_active_runs: None,
        }
    }

    /// The first date to schedule, `YYYY-MM-DD`.
    pub fn start_date(mut self, date: impl Into<String>) -> Self {
        self.start_date = Some(date.into());
        self
    }

    /// Whether to run missed intervals after a pause.
    pub fn catchup(mut self, catchup: bool) -> Self {
        self.catchup = catchup;
        self
    }

    /// At most this many runs at once.
    pub fn max_active_runs(mut self, runs: u32) -> Self {
        self.max_active_runs = Some(runs);
        self
    }

    /// Every problem with this schedule, as sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(why) = check_cron(&self.cron) {
            problems.push(why);
        }
        if let Some(date) = &self.start_date
            && let Err(why) = check_date(date)
        {
            problems.push(why);
        }
        if self.max_active_runs == Some(0) {
            problems.push("max_active_runs must be at least 1".to_owned());
        }
        problems
    }
}

/// The presets every target understands.
pub const CRON_PRESETS: &[&str] = &[
    "@once",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
];

const FIELDS: [(&str, u32, u32, &[&str]); 5] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    ),
    (
        "day of week",
        0,
        7,
        &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    ),
];

/// Checks a five-field crontab expression or a preset; the error says which field is wrong.
pub fn check_cron(expression: &str) -> Result<(), String> {
    let expression = expression.trim();
    if expression.starts_with('@') {
        return if CRON_PRESETS.contains(&expression) {
            Ok(())
        } else {
            Err(format!(
                "unknown cron preset `{expression}` (expected one of {})",
                CRON_PRESETS.join(", ")
            ))
        };
    }
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Err(format!(
            "cron expression `{expression}` has {} fields; expected 5 (minute hour day-of-month month day-of-week) or a preset such as @daily",
            fields.len()
        ));
    }
    for (field, (name, min, max, names)) in fields.iter().zip(FIELDS) {
        for item in field.split(',') {
            check_cron_item(item, min, max, names)
                .map_err(|why| format!("cron {name} field `{field}`: {why}"))?;
        }
    }
    Ok(())
}

fn check_cron_item(item: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(step) if step > 0 => {}
            _ => return Err(format!("step `{step}` is not a positive number")),
        }
    }
    if range == "*" {
        return Ok(());
    }
    let value = |text: &str| -> Result<u32, String> {
        if let Some(index) = names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Ok(min.max(if max == 7 { 0 } else { 1 }) + index as u32);
        }
        match text.parse::<u32>() {
            Ok(number) if (min..=max).contains(&number) => Ok(number),
            _ => Err(format!("`{text}` is not a value from {min} to {max}")),
        }
    };
    match range.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (value(low)?, value(high)?);
            if low > high {
                return Err(format!("range {low}-{high} is empty"));
            }
        }
        None => {
            value(range)?;
        }
    }
    Ok(())
}

/// Checks a `YYYY-MM-DD` date.
pub fn check_date(date: &str) -> Result<(), String> {
    let parts: Vec<&str> = date.split('-').collect();
    let well_formed = parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts
            .iter()
            .all(|part| part.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(format!("start date `{date}` is not in the form YYYY-MM-DD"));
    }
    let year: u32 = parts[0].parse().unwrap_or(0);
    let month: u32 = parts[1].parse().unwrap_or(0);
    let day: u32 = parts[2].parse().unwrap_or(0);
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("start date `{date}` has no month {month}")),
    };
    if day == 0 || day > days_in_month {
        return Err(format!("start date `{date}` has no day {day}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_accepts_crontab_forms_and_presets() {
        for good in [
            "0 3 * * *",
            "*/15 * * * *",
            "0 0 1,15 * MON-FRI",
            "30 2 * JAN-MAR 0",
            "@daily",
            "0 0 * * 7",
        ] {
            assert_eq!(check_cron(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn cron_rejects_with_the_field_named() {
        let error = check_cron("61 * * * *").unwrap_err();
        assert!(error.contains("minute"), "{error}");
        let error = check_cron("0 3 * *").unwrap_err();
        assert!(error.contains("4 fields"), "{error}");
        assert!(check_cron("@sometimes").is_err());
        assert!(check_cron("*/0 * * * *").is_err());
        assert!(check_cron("5-1 * * * *").is_err());
    }

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert_eq!(check_date("2024-02-29"), Ok(()));
        assert!(check_date("2023-02-29").is_err());
        assert!(check_date("2024-13-01").is_err());
        assert!(check_date("24-01-01").is_err());
    }
}
