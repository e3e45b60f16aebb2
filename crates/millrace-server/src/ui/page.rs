//! The frame every page shares — title, navigation, the stylesheet and script — and the small
//! renderings pages have in common: times, durations, states.

use maud::{DOCTYPE, Markup, html};
use millrace_runner::{NodeState, RunState};

/// Which section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Runs,
    Compare,
    Models,
    Schedules,
    None,
}

/// A whole page: `title`, the navigation with `section` marked, and `body`.
pub(crate) fn shell(title: &str, section: Section, body: &Markup) -> Markup {
    let link = |href: &str, name: &str, this: Section| {
        html! {
            a href=(href) class=[(section == this).then_some("current")] { (name) }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Millrace" }
                link rel="stylesheet" href=(super::assets::STYLESHEET);
                script src=(super::assets::SCRIPT) defer {}
            }
            body {
                nav {
                    span.brand { "Millrace" }
                    (link("/runs", "Runs", Section::Runs))
                    (link("/compare", "Compare", Section::Compare))
                    (link("/models", "Models", Section::Models))
                    (link("/schedules", "Schedules", Section::Schedules))
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a time in milliseconds since the epoch.
pub(crate) fn time(ms: i64) -> String {
    let (year, month, day, hour, minute, second) =
        millrace_runner::utc_date_time(ms.div_euclid(1000));
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

/// A duration as people read it: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub(crate) fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{} h {:02} min", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// A node's state as a badge; `data-state` is what the live updates and the stylesheet key on.
pub(crate) fn node_badge(state: NodeState) -> Markup {
    html! { span.badge data-state=(state.as_str()) { (node_label(state)) } }
}

/// A node state as people read it.
pub(crate) fn node_label(state: NodeState) -> &'static str {
    match state {
        NodeState::UpstreamFailed => "upstream failed",
        NodeState::NotStarted => "not started",
        other => other.as_str(),
    }
}

/// A run's state as a badge. A run with no recorded end whose nodes say "failed" may still be
/// retrying a node; it says so.
pub(crate) fn run_badge(state: RunState, finished: bool) -> Markup {
    let label = match (state, finished) {
        (RunState::Failed, false) => "failed (not ended)",
        (state, _) => state.as_str(),
    };
    html! { span.badge data-state=(state.as_str()) data-run-state="" { (label) } }
}

/// A short form of a JSON value for tables: strings without quotes.
pub(crate) fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `text` percent-encoded for a URL's path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(byte as char);
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_340), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
        assert_eq!(duration(7_380_000), "2 h 03 min");
        assert_eq!(duration(-5), "0 ms");
    }

    #[test]
    fn path_segments_and_query_values_are_percent_encoded() {
        assert_eq!(encode("run-1_a.b~"), "run-1_a.b~");
        assert_eq!(encode("a/b c=d&<e>"), "a%2Fb%20c%3Dd%26%3Ce%3E");
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00:00");
    }
}
