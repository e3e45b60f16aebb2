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
    /// The time zone the cron expression reads in (an IANA name); UTC when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
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
            timezone: None,
        }
    }

    /// Reads the cron expression in this time zone (an IANA name such as `Europe/Paris`):
    /// `0 3 * * *` is 03:00 there, summer and winter.
    pub fn timezone(mut self, name: impl Into<String>) -> Self {
        self.timezone = Some(name.into());
        self
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
        if let Some(zone) = &self.timezone
            && let Err(why) = check_timezone(zone)
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

/// Checks a five-field crontab expression or a preset; the error says which field is wrong.
pub fn check_cron(expression: &str) -> Result<(), String> {
    super::cron::Cron::parse(expression).map(drop)
}

/// Checks a time zone's name: `UTC`, or an IANA name such as `Europe/Paris` or
/// `America/Argentina/Buenos_Aires` (whether this machine's time zone database has it is
/// checked where the schedule runs).
pub fn check_timezone(name: &str) -> Result<(), String> {
    let well_formed = name == "UTC"
        || (name.contains('/')
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part.starts_with(|c: char| c.is_ascii_alphabetic())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
            }));
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "time zone `{name}` is not an IANA time zone name such as `Europe/Paris`, `America/New_York` or `UTC`"
        ))
    }
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
    let year: i32 = parts[0].parse().unwrap_or(0);
    let month: u8 = parts[1].parse().unwrap_or(0);
    let day: u8 = parts[2].parse().unwrap_or(0);
    if !(1..=12).contains(&month) {
        return Err(format!("start date `{date}` has no month {month}"));
    }
    let days_in_month = super::cron::days_in_month(year, month);
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
    fn time_zones_are_iana_names_or_utc() {
        for good in [
            "UTC",
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
        ] {
            assert_eq!(check_timezone(good), Ok(()), "{good}");
        }
        for bad in ["", "Paris", "Europe/", "Europe/Paris; rm -rf /", "CET/"] {
            assert!(check_timezone(bad).is_err(), "{bad}");
        }
        let problems = Schedule::cron("0 3 * * *")
            .timezone("Mars/Olympus Mons")
            .problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert_eq!(check_date("2024-02-29"), Ok(()));
        assert!(check_date("2023-02-29").is_err());
        assert!(check_date("2024-13-01").is_err());
        assert!(check_date("24-01-01").is_err());
    }
}
