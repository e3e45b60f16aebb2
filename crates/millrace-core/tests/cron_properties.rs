//! Cron expressions under property tests: any text is parsed or refused with a message, never
//! a panic; and the next tick of a schedule is exactly the first minute after the given one
//! that the schedule's fields allow, as a minute-by-minute walk finds it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly.

use millrace_core::spec::cron::{CivilMinute, Cron};
use proptest::prelude::*;

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// The minute after `at`.
fn plus_one(at: CivilMinute) -> CivilMinute {
    let mut next = at;
    next.minute += 1;
    if next.minute == 60 {
        next.minute = 0;
        next.hour += 1;
    }
    if next.hour == 24 {
        next.hour = 0;
        next.day += 1;
    }
    if next.day > days_in_month(next.year, next.month) {
        next.day = 1;
        next.month += 1;
    }
    if next.month == 13 {
        next.month = 1;
        next.year += 1;
    }
    next
}

fn list(values: &std::collections::BTreeSet<u8>) -> String {
    values
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn civil_minute() -> impl Strategy<Value = CivilMinute> {
    (2000i32..2100, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60).prop_map(
        |(year, month, day, hour, minute)| CivilMinute::new(year, month, day, hour, minute),
    )
}

proptest! {
    // PROPTEST_CASES, when set, runs longer (or shorter).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn any_text_is_parsed_or_refused_never_a_panic(text in "\\PC{0,60}") {
        let _ = Cron::parse(&text);
    }

    #[test]
    fn cron_like_text_is_parsed_or_refused_with_a_message(
        text in "[0-9*/,\\-A-Za-z@ ]{0,40}"
    ) {
        if let Err(message) = Cron::parse(&text) {
            prop_assert!(!message.is_empty());
        }
    }

    #[test]
    fn the_next_tick_is_the_first_minute_the_fields_allow(
        minutes in prop::collection::btree_set(0u8..60, 1..5),
        hours in prop::collection::btree_set(0u8..24, 1..4),
        at in civil_minute(),
    ) {
        let cron = Cron::parse(&format!("{} {} * * *", list(&minutes), list(&hours))).unwrap();
        let mut walk = plus_one(at);
        // Within a day every minute-and-hour schedule fires.
        for _ in 0..=24 * 60 {
            if minutes.contains(&walk.minute) && hours.contains(&walk.hour) {
                break;
            }
            walk = plus_one(walk);
        }
        prop_assert_eq!(cron.next_after(at), Some(walk));
    }

    #[test]
    fn ticks_only_move_forward(
        minute in 0u8..60,
        hour in 0u8..24,
        day in 1u8..=31,
        weekday in 0u8..7,
        restrict_day in any::<bool>(),
        at in civil_minute(),
    ) {
        let day_field = if restrict_day { day.to_string() } else { "*".to_owned() };
        let cron = Cron::parse(&format!("{minute} {hour} {day_field} * {weekday}")).unwrap();
        let first = cron.next_after(at).expect("a weekly schedule always fires again");
        prop_assert!(first > at);
        prop_assert_eq!((first.minute, first.hour), (minute, hour));
        let second = cron.next_after(first).expect("and again");
        prop_assert!(second > first);
    }
}
