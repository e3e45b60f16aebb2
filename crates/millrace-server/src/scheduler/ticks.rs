//! A schedule's ticks as instants: the cron expression's matching wall-clock minutes
//! ([`millrace_core::spec::cron`]) read in the schedule's time zone.
//!
//! Across daylight-saving changes each matching wall-clock minute fires once: a minute the
//! clocks skip (02:30 on a spring-forward night) fires at the instant after the gap (03:30
//! new time — jiff's "compatible" rule, as Vixie cron does for most zones), and a minute that
//! happens twice (01:30 on a fall-back night) fires at its first occurrence only.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use millrace_core::spec::cron::{CivilMinute, Cron};

/// The time zone named `name` (an IANA name; `None` is UTC), from this machine's database.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None | Some("UTC") => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|error| {
            format!("time zone `{name}` is not in this machine's time zone database: {error}")
        }),
    }
}

/// A cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct Ticks {
    cron: Cron,
    zone: TimeZone,
}

impl Ticks {
    /// `expression` read in `zone` (an IANA name; `None` is UTC). The error says what is wrong.
    pub fn new(expression: &str, zone: Option<&str>) -> Result<Ticks, String> {
        let cron = Cron::parse(expression)?;
        let zone = time_zone(zone)?;
        Ok(Ticks { cron, zone })
    }

    /// Whether it is `@once`: nothing to repeat.
    pub fn is_once(&self) -> bool {
        self.cron.is_once()
    }

    /// The first tick after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let local = self.zone.to_datetime(after);
        let mut minute = CivilMinute::new(
            i32::from(local.year()),
            u8::try_from(local.month()).ok()?,
            u8::try_from(local.day()).ok()?,
            u8::try_from(local.hour()).ok()?,
            u8::try_from(local.minute()).ok()?,
        );
        // A handful of candidates at most: only a repeated hour makes one land before `after`.
        for _ in 0..4 {
            minute = self.cron.next_after(minute)?;
            let civil = DateTime::new(
                i16::try_from(minute.year).ok()?,
                i8::try_from(minute.month).ok()?,
                i8::try_from(minute.day).ok()?,
                i8::try_from(minute.hour).ok()?,
                i8::try_from(minute.minute).ok()?,
                0,
                0,
            )
            .ok()?;
            let instant = self
                .zone
                .to_ambiguous_zoned(civil)
                .compatible()
                .ok()?
                .timestamp();
            if instant > after {
                return Some(instant);
            }
        }
        None
    }

    /// The ticks in `(after, until]`, oldest first, at most `limit` of them.
    pub fn between(&self, after: Timestamp, until: Timestamp, limit: usize) -> Vec<Timestamp> {
        let mut ticks = Vec::new();
        let mut last = after;
        while ticks.len() < limit {
            match self.next_after(last) {
                Some(tick) if tick <= until => {
                    ticks.push(tick);
                    last = tick;
                }
                _ => break,
            }
        }
        ticks
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn ticks_read_in_the_zone_summer_and_winter() {
        let paris = Ticks::new("0 3 * * *", Some("Europe/Paris")).unwrap();
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            paris.next_after(at("2026-12-04T12:00:00Z")),
            Some(at("2026-12-05T02:00:00Z"))
        );
        assert_eq!(
            paris.next_after(at("2026-07-01T12:00:00Z")),
            Some(at("2026-07-02T01:00:00Z"))
        );
        let utc = Ticks::new("0 3 * * *", None).unwrap();
        assert_eq!(
            utc.next_after(at("2026-12-04T12:00:00Z")),
            Some(at("2026-12-05T03:00:00Z"))
        );
    }

    #[test]
    fn a_skipped_minute_fires_after_the_gap_and_a_repeated_one_fires_once() {
        // 2026-03-29: Paris skips 02:00–03:00; 2026-10-25: it repeats 02:00–03:00.
        let half_past_two = Ticks::new("30 2 * * *", Some("Europe/Paris")).unwrap();
        assert_eq!(
            half_past_two.next_after(at("2026-03-28T12:00:00Z")),
            Some(at("2026-03-29T01:30:00Z")),
            "03:30 summer time, the instant after the gap"
        );
        let ticks =
            half_past_two.between(at("2026-10-24T12:00:00Z"), at("2026-10-26T12:00:00Z"), 10);
        assert_eq!(
            ticks,
            [at("2026-10-25T00:30:00Z"), at("2026-10-26T01:30:00Z")],
            "02:30 on the night it happens twice fires once"
        );
    }

    #[test]
    fn catch_up_lists_the_missed_ticks_oldest_first() {
        let hourly = Ticks::new("@hourly", None).unwrap();
        let missed = hourly.between(at("2026-12-04T09:30:00Z"), at("2026-12-04T12:00:00Z"), 100);
        assert_eq!(
            missed,
            [
                at("2026-12-04T10:00:00Z"),
                at("2026-12-04T11:00:00Z"),
                at("2026-12-04T12:00:00Z")
            ]
        );
        assert_eq!(
            hourly
                .between(at("2026-12-04T09:30:00Z"), at("2026-12-05T12:00:00Z"), 2)
                .len(),
            2
        );
    }

    #[test]
    fn an_unknown_zone_is_refused_with_its_name() {
        let error = Ticks::new("@daily", Some("Mars/Olympus_Mons")).unwrap_err();
        assert!(error.contains("Mars/Olympus_Mons"), "{error}");
    }
}
