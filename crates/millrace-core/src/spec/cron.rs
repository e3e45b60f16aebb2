//! Cron expressions, parsed and evaluated on the wall clock.
//!
//! **Grammar.** Five fields — minute (0–59), hour (0–23), day of month (1–31), month (1–12 or
//! `JAN`–`DEC`), day of week (0–7 or `SUN`–`SAT`; 0 and 7 are Sunday) — each a comma list of
//! `*`, `N`, `A-B`, and any of those with a `/STEP`; or a preset: `@hourly`, `@daily`,
//! `@weekly`, `@monthly`, `@yearly` (`@annually`), and `@once` (no repeat: only engines that
//! run a deployment once use it).
//!
//! **Days.** As in Vixie cron, when both day fields are restricted (neither starts with `*`), a
//! day matching *either* fires; otherwise both must match.
//!
//! **Evaluation.** [`Cron::next_after`] finds the first matching wall-clock minute after a given
//! one, in civil time: no time zone here (the scheduler turns civil minutes into instants in
//! the schedule's zone). Algorithm: skip whole months that do not match, then whole days, then
//! hours, then minutes, each by a jump to the next allowed value — so a search costs at most a
//! few hundred steps, and a search that can never succeed (`0 0 30 2 *`: February 30th) ends
//! after four years of months (every day-of-month and weekday pattern recurs within 28 years,
//! but a date that exists at all exists within four) with `None`.
//!
//! ```
//! use millrace_core::spec::cron::{CivilMinute, Cron};
//!
//! let cron = Cron::parse("30 3 * * MON-FRI").unwrap();
//! // Friday 2026-12-04 04:00 → Monday 2026-12-07 03:30.
//! let next = cron.next_after(CivilMinute::new(2026, 12, 4, 4, 0)).unwrap();
//! assert_eq!(next, CivilMinute::new(2026, 12, 7, 3, 30));
//! assert!(Cron::parse("0 0 30 2 *").unwrap().next_after(next).is_none());
//! ```

/// A wall-clock minute: a date and a time of day, in no particular zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilMinute {
    /// The year.
    pub year: i32,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
}

impl CivilMinute {
    /// The minute at `year-month-day hour:minute`.
    pub const fn new(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> Self {
        CivilMinute {
            year,
            month,
            day,
            hour,
            minute,
        }
    }
}

impl std::fmt::Display for CivilMinute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

/// The presets, as five-field expressions (`@once` has none).
const PRESETS: [(&str, &str); 6] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// The five fields: name, smallest and largest value, names for values.
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

/// A parsed cron expression: each field as the set of values it allows (bit `n` for value `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    /// Sunday is bit 0 (a 7 in the expression sets bit 0 too).
    days_of_week: u64,
    /// Both day fields restricted: a day matching either fires.
    either_day: bool,
    /// `@once`: it never repeats.
    once: bool,
}

impl Cron {
    /// Parses a five-field expression or a preset; the error names the field that is wrong.
    pub fn parse(expression: &str) -> Result<Cron, String> {
        let expression = expression.trim();
        if expression == "@once" {
            return Ok(Cron {
                minutes: 0,
                hours: 0,
                days_of_month: 0,
                months: 0,
                days_of_week: 0,
                either_day: false,
                once: true,
            });
        }
        let expression = if expression.starts_with('@') {
            PRESETS
                .iter()
                .find(|(preset, _)| *preset == expression)
                .map(|(_, fields)| *fields)
                .ok_or_else(|| {
                    format!(
                        "unknown cron preset `{expression}` (expected one of @once, {})",
                        PRESETS.map(|(preset, _)| preset).join(", ")
                    )
                })?
        } else {
            expression
        };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != FIELDS.len() {
            return Err(format!(
                "cron expression `{expression}` has {} fields; expected 5 (minute hour day-of-month month day-of-week) or a preset such as @daily",
                fields.len()
            ));
        }
        let mut sets = [0u64; 5];
        for ((field, (name, min, max, names)), set) in fields.iter().zip(FIELDS).zip(&mut sets) {
            for item in field.split(',') {
                *set |= parse_item(item, min, max, names)
                    .map_err(|why| format!("cron {name} field `{field}`: {why}"))?;
            }
        }
        // Sunday is 0 and 7.
        if sets[4] & (1 << 7) != 0 {
            sets[4] = (sets[4] | 1) & !(1 << 7);
        }
        Ok(Cron {
            minutes: sets[0],
            hours: sets[1],
            days_of_month: sets[2],
            months: sets[3],
            days_of_week: sets[4],
            either_day: !fields[2].starts_with('*') && !fields[4].starts_with('*'),
            once: false,
        })
    }

    /// Whether it is `@once`: fire a deployment one time, never again.
    pub fn is_once(&self) -> bool {
        self.once
    }

    /// Whether the day `year-month-day` fires (on some minute).
    fn day_matches(&self, year: i32, month: u8, day: u8) -> bool {
        let by_date = self.days_of_month & (1 << day) != 0;
        let by_weekday = self.days_of_week & (1 << weekday(year, month, day)) != 0;
        if self.either_day {
            by_date || by_weekday
        } else {
            by_date && by_weekday
        }
    }

    /// The first minute after `after` that the expression matches (`None` for `@once`, or when
    /// no date in the next four years matches).
    pub fn next_after(&self, after: CivilMinute) -> Option<CivilMinute> {
        if self.once {
            return None;
        }
        let (mut year, mut month, mut day) = (after.year, after.month, after.day);
        // The first candidate minute is the one after `after`.
        let (mut hour, mut minute) = match after.minute {
            59 => (u32::from(after.hour) + 1, 0),
            m => (u32::from(after.hour), u32::from(m) + 1),
        };
        let last_year = after.year + 4;
        loop {
            if year > last_year {
                return None;
            }
            if self.months & (1 << month) == 0 {
                (year, month) = next_month(year, month);
                (day, hour, minute) = (1, 0, 0);
                continue;
            }
            if day > days_in_month(year, month) {
                (year, month) = next_month(year, month);
                (day, hour, minute) = (1, 0, 0);
                continue;
            }
            if hour > 23 || !self.day_matches(year, month, day) {
                day += 1;
                (hour, minute) = (0, 0);
                continue;
            }
            let Some(next_hour) = next_set(self.hours, hour, 23) else {
                day += 1;
                (hour, minute) = (0, 0);
                continue;
            };
            if next_hour != hour {
                (hour, minute) = (next_hour, 0);
            }
            match next_set(self.minutes, minute, 59) {
                Some(found) => {
                    return Some(CivilMinute::new(
                        year,
                        month,
                        day,
                        u8::try_from(hour).unwrap_or(23),
                        u8::try_from(found).unwrap_or(59),
                    ));
                }
                None => (hour, minute) = (hour + 1, 0),
            }
        }
    }
}

/// The smallest value in `set` from `from` to `max`.
fn next_set(set: u64, from: u32, max: u32) -> Option<u32> {
    (from..=max).find(|value| set & (1 << value) != 0)
}

fn next_month(year: i32, month: u8) -> (i32, u8) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

/// Whether `year` is a leap year in the Gregorian calendar.
pub(crate) fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// How many days month `month` of `year` has.
pub(crate) fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// The day of the week of a date, Sunday 0 (Sakamoto's method).
fn weekday(year: i32, month: u8, day: u8) -> u32 {
    const OFFSETS: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let year = if month < 3 { year - 1 } else { year };
    let index = usize::from(month.clamp(1, 12) - 1);
    let days = year + year.div_euclid(4) - year.div_euclid(100)
        + year.div_euclid(400)
        + OFFSETS[index]
        + i32::from(day);
    u32::try_from(days.rem_euclid(7)).unwrap_or(0)
}

/// One comma-separated item as a set: `*`, `N`, `A-B`, each with an optional `/STEP`.
fn parse_item(item: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => match step.parse::<u32>() {
            Ok(step) if step > 0 => (range, step),
            _ => return Err(format!("step `{step}` is not a positive number")),
        },
        None => (item, 1),
    };
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
    let (low, high) = if range == "*" {
        (min, max)
    } else {
        match range.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (value(low)?, value(high)?);
                if low > high {
                    return Err(format!("range {low}-{high} is empty"));
                }
                (low, high)
            }
            // `N/STEP` runs from N to the end, as in Vixie cron.
            None if step > 1 => (value(range)?, max),
            None => {
                let single = value(range)?;
                (single, single)
            }
        }
    };
    Ok((low..=high)
        .step_by(step as usize)
        .fold(0, |set, value| set | (1 << value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(expression: &str, after: CivilMinute) -> Option<CivilMinute> {
        Cron::parse(expression).unwrap().next_after(after)
    }

    const FRIDAY_NOON: CivilMinute = CivilMinute::new(2026, 12, 4, 12, 0);

    #[test]
    fn every_minute_fires_on_the_next_minute_across_days_months_and_years() {
        assert_eq!(
            next("* * * * *", FRIDAY_NOON),
            Some(CivilMinute::new(2026, 12, 4, 12, 1))
        );
        assert_eq!(
            next("* * * * *", CivilMinute::new(2026, 12, 31, 23, 59)),
            Some(CivilMinute::new(2027, 1, 1, 0, 0))
        );
    }

    #[test]
    fn presets_fire_where_their_expressions_do() {
        assert_eq!(
            next("@daily", FRIDAY_NOON),
            Some(CivilMinute::new(2026, 12, 5, 0, 0))
        );
        assert_eq!(
            next("@weekly", FRIDAY_NOON),
            Some(CivilMinute::new(2026, 12, 6, 0, 0))
        );
        assert_eq!(
            next("@monthly", FRIDAY_NOON),
            Some(CivilMinute::new(2027, 1, 1, 0, 0))
        );
        assert_eq!(
            next("@hourly", FRIDAY_NOON),
            Some(CivilMinute::new(2026, 12, 4, 13, 0))
        );
        assert_eq!(next("@once", FRIDAY_NOON), None);
    }

    #[test]
    fn steps_ranges_lists_and_names_combine() {
        assert_eq!(
            next("*/15 * * * *", CivilMinute::new(2026, 12, 4, 12, 31)),
            Some(CivilMinute::new(2026, 12, 4, 12, 45))
        );
        assert_eq!(
            next(
                "5/20 9-17 * * MON-FRI",
                CivilMinute::new(2026, 12, 4, 17, 45)
            ),
            Some(CivilMinute::new(2026, 12, 7, 9, 5)),
            "Friday after hours goes to Monday 09:05"
        );
        assert_eq!(
            next("0 0 1,15 FEB *", FRIDAY_NOON),
            Some(CivilMinute::new(2027, 2, 1, 0, 0))
        );
    }

    #[test]
    fn both_day_fields_restricted_fire_on_either_and_sunday_is_0_or_7() {
        // The 13th, or any Friday: Friday 2026-12-11 comes before Sunday the 13th.
        assert_eq!(
            next("0 0 13 * FRI", FRIDAY_NOON),
            Some(CivilMinute::new(2026, 12, 11, 0, 0))
        );
        // Only the day of week restricted: every Sunday.
        assert_eq!(
            next("0 0 * * 7", FRIDAY_NOON),
            Some(CivilMinute::new(2026, 12, 6, 0, 0))
        );
        assert_eq!(
            next("0 0 * * 7", FRIDAY_NOON),
            next("0 0 * * SUN", FRIDAY_NOON)
        );
    }

    #[test]
    fn february_29th_waits_for_a_leap_year_and_an_impossible_date_gives_up() {
        assert_eq!(
            next("0 0 29 2 *", FRIDAY_NOON),
            Some(CivilMinute::new(2028, 2, 29, 0, 0))
        );
        assert_eq!(next("0 0 30 2 *", FRIDAY_NOON), None);
        assert_eq!(next("0 0 31 4 *", FRIDAY_NOON), None);
    }

    #[test]
    fn weekdays_are_right_for_known_dates() {
        assert_eq!(weekday(2026, 12, 4), 5); // a Friday
        assert_eq!(weekday(2000, 1, 1), 6); // a Saturday
        assert_eq!(weekday(2024, 2, 29), 4); // a Thursday
    }

    #[test]
    fn bad_expressions_name_the_field() {
        let error = Cron::parse("61 * * * *").unwrap_err();
        assert!(error.contains("minute"), "{error}");
        assert!(Cron::parse("0 3 * *").unwrap_err().contains("4 fields"));
        assert!(Cron::parse("@sometimes").is_err());
        assert!(Cron::parse("*/0 * * * *").is_err());
        assert!(Cron::parse("5-1 * * * *").is_err());
    }
}
