//! The anomalies report: a page that says at a glance whether the examples passed validation,
//! then lists every anomaly, grouped by feature.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::html;
use crate::validation::{Anomalies, Anomaly, AnomalyKind};

/// How many offending values are shown per anomaly.
const EXAMPLES_SHOWN: usize = 20;

/// The longest offending value shown, in characters (longer ones are cut, with the value in a
/// tooltip).
const EXAMPLE_CHARS: usize = 40;

/// The style sheet of this page, on top of the shared one.
const CSS: &str = r"
.kind{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.k-schema{background:#fde1df;color:#a21a12}
.k-values{background:#fff3d6;color:#7a4b00}
.k-distribution{background:#ece5fa;color:#55289a}
td.desc{min-width:16em;max-width:40em}
td.ex{max-width:30em}
td.dist.over{color:var(--bad-fg);font-weight:600}
";

/// The HTML report of `anomalies`: a self-contained page titled `title`.
pub fn anomalies_html(anomalies: &Anomalies, title: &str) -> String {
    let mut body = String::with_capacity(4096 + anomalies.anomalies.len() * 512);
    // Writing into a String cannot fail: the results of `write!` are ignored throughout.
    let _ = writeln!(
        body,
        "<header>\n<h1>{}</h1>\n</header>",
        html::escape(title)
    );
    banner(&mut body, anomalies);
    if !anomalies.is_empty() {
        table(&mut body, anomalies);
    }
    html::page(title, CSS, &body)
}

/// The verdict: green when nothing was found, red with counts otherwise.
fn banner(out: &mut String, anomalies: &Anomalies) {
    if anomalies.is_empty() {
        out.push_str(
            "<div class=\"banner ok\" role=\"status\"><strong>✓ No anomalies</strong>\
             <div class=\"sub\">Nothing was found wrong with the examples.</div></div>\n",
        );
        return;
    }
    let count = anomalies.anomalies.len();
    let features = anomalies.features().len();
    let _ = write!(
        out,
        "<div class=\"banner err\" role=\"alert\"><strong>{} {} in {} feature{}</strong>\
         <div class=\"sub\">",
        html::format_int(count as u64),
        if count == 1 { "anomaly" } else { "anomalies" },
        html::format_int(features as u64),
        if features == 1 { "" } else { "s" },
    );
    let mut kinds: BTreeMap<AnomalyKind, usize> = BTreeMap::new();
    for anomaly in &anomalies.anomalies {
        *kinds.entry(anomaly.kind).or_default() += 1;
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(kind, count)| format!("{count} {}", kind.name()))
        .collect();
    let splits: Vec<String> = splits(anomalies)
        .iter()
        .map(|split| html::escape(split))
        .collect();
    let _ = writeln!(
        out,
        "{} · in split{} {}</div></div>",
        kinds.join(", "),
        if splits.len() == 1 { "" } else { "s" },
        splits.join(", "),
    );
}

/// The splits named by the anomalies, in order of first appearance.
fn splits(anomalies: &Anomalies) -> Vec<&str> {
    let mut splits: Vec<&str> = Vec::new();
    for anomaly in &anomalies.anomalies {
        if !splits.contains(&anomaly.split.as_str()) {
            splits.push(&anomaly.split);
        }
    }
    splits
}

/// The CSS class of a kind's badge: schema mismatches, bad values, distribution changes.
fn kind_class(kind: AnomalyKind) -> &'static str {
    match kind {
        AnomalyKind::MissingColumn | AnomalyKind::UnexpectedColumn | AnomalyKind::TypeMismatch => {
            "k-schema"
        }
        AnomalyKind::OutOfDomain | AnomalyKind::OutOfRange | AnomalyKind::PresenceViolation => {
            "k-values"
        }
        AnomalyKind::Drift | AnomalyKind::Skew => "k-distribution",
    }
}

/// The table of anomalies: one group of rows per feature (sorted by name), ordered within by
/// split (in order of appearance) then kind.
fn table(out: &mut String, anomalies: &Anomalies) {
    let split_order = splits(anomalies);
    let split_rank = |split: &str| split_order.iter().position(|known| *known == split);
    let mut sorted: Vec<&Anomaly> = anomalies.anomalies.iter().collect();
    sorted.sort_by(|a, b| {
        a.feature
            .cmp(&b.feature)
            .then_with(|| split_rank(&a.split).cmp(&split_rank(&b.split)))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let distances = sorted
        .iter()
        .any(|anomaly| anomaly.distance.is_some() || anomaly.threshold.is_some());

    out.push_str(
        "<table class=\"main anomalies\">\n<thead><tr><th>Feature</th><th>Split</th>\
         <th>Kind</th><th>Description</th><th>Examples</th>",
    );
    if distances {
        out.push_str("<th class=\"num\">Distance / threshold</th>");
    }
    out.push_str("</tr></thead>\n");
    for group in sorted.chunk_by(|a, b| a.feature == b.feature) {
        out.push_str("<tbody>\n");
        for (index, anomaly) in group.iter().enumerate() {
            out.push_str("<tr>");
            if index == 0 {
                let _ = write!(
                    out,
                    "<td class=\"name\" rowspan=\"{}\">{}</td>",
                    group.len(),
                    html::escape(&anomaly.feature)
                );
            }
            row(out, anomaly, distances);
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n");
}

/// An anomaly's cells after its feature's.
fn row(out: &mut String, anomaly: &Anomaly, distances: bool) {
    let _ = write!(
        out,
        "<td class=\"split\">{}</td><td><span class=\"kind {}\">{}</span></td>\
         <td class=\"desc\">{}</td><td class=\"ex\">",
        html::escape(&anomaly.split),
        kind_class(anomaly.kind),
        anomaly.kind.name(),
        html::escape(&anomaly.description),
    );
    if anomaly.examples.is_empty() {
        out.push_str("<span class=\"muted\">—</span>");
    }
    for example in anomaly.examples.iter().take(EXAMPLES_SHOWN) {
        let _ = write!(
            out,
            "<code class=\"chip\">{}</code>",
            html::value_label(example, EXAMPLE_CHARS)
        );
    }
    if anomaly.examples.len() > EXAMPLES_SHOWN {
        let _ = write!(
            out,
            " <small>+{} more</small>",
            html::format_int((anomaly.examples.len() - EXAMPLES_SHOWN) as u64)
        );
    }
    out.push_str("</td>");
    if distances {
        distance_cell(out, anomaly.distance, anomaly.threshold);
    }
}

/// The distance and threshold of a drift or skew: `0.21 > 0.1`, in red when over.
fn distance_cell(out: &mut String, distance: Option<f64>, threshold: Option<f64>) {
    match (distance, threshold) {
        (Some(distance), Some(threshold)) => {
            let over = distance > threshold;
            let _ = write!(
                out,
                "<td class=\"num dist{}\" title=\"distance {} threshold\">{} {} {}</td>",
                if over { " over" } else { "" },
                if over { "above" } else { "within" },
                html::format_float(distance),
                if over { "&gt;" } else { "≤" },
                html::format_float(threshold),
            );
        }
        (Some(distance), None) => {
            let _ = write!(
                out,
                "<td class=\"num dist\">{}</td>",
                html::format_float(distance)
            );
        }
        (None, Some(threshold)) => {
            let _ = write!(
                out,
                "<td class=\"num dist\">threshold {}</td>",
                html::format_float(threshold)
            );
        }
        (None, None) => out.push_str("<td class=\"num muted\">—</td>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomaly(split: &str, feature: &str, kind: AnomalyKind) -> Anomaly {
        Anomaly {
            split: split.to_owned(),
            feature: feature.to_owned(),
            kind,
            description: format!("{} found", kind.name()),
            examples: Vec::new(),
            distance: None,
            threshold: None,
        }
    }

    #[test]
    fn no_anomalies_get_the_green_banner() {
        let page = anomalies_html(&Anomalies::default(), "Validation of span 3");
        assert!(page.contains("<div class=\"banner ok\""));
        assert!(page.contains("No anomalies"));
        assert!(!page.contains("banner err"));
        assert!(!page.contains("<table"));
        assert!(page.contains("<h1>Validation of span 3</h1>"));
    }

    #[test]
    fn anomalies_get_the_red_banner_with_counts() {
        let anomalies = Anomalies {
            anomalies: vec![
                anomaly("train", "zip", AnomalyKind::OutOfDomain),
                anomaly("train", "age", AnomalyKind::OutOfRange),
                anomaly("eval", "age", AnomalyKind::PresenceViolation),
            ],
        };
        let page = anomalies_html(&anomalies, "t");
        assert!(page.contains("<div class=\"banner err\""));
        assert!(page.contains("<strong>3 anomalies in 2 features</strong>"));
        assert!(page.contains(
            "1 out of domain, 1 out of range, 1 presence violation · in splits train, eval"
        ));
        assert!(!page.contains("No anomalies"));
        let one = Anomalies {
            anomalies: vec![anomaly("train", "age", AnomalyKind::Drift)],
        };
        let page = anomalies_html(&one, "t");
        assert!(page.contains("<strong>1 anomaly in 1 feature</strong>"));
        assert!(page.contains("1 drift · in split train"));
    }

    #[test]
    fn rows_are_grouped_by_feature_and_show_every_field() {
        let mut drift = anomaly("train", "age", AnomalyKind::Drift);
        drift.distance = Some(0.23456);
        drift.threshold = Some(0.1);
        let mut skew = anomaly("eval", "age", AnomalyKind::Skew);
        skew.distance = Some(0.05);
        skew.threshold = Some(0.1);
        let mut domain = anomaly("train", "zip", AnomalyKind::OutOfDomain);
        domain.examples = vec!["00000".to_owned(), "ABCDE".to_owned()];
        let anomalies = Anomalies {
            anomalies: vec![
                domain,
                anomaly("eval", "zip", AnomalyKind::MissingColumn),
                skew,
                drift,
            ],
        };
        let page = anomalies_html(&anomalies, "t");
        assert_eq!(page.matches("<tbody>").count(), 2);
        assert!(page.contains("<td class=\"name\" rowspan=\"2\">age</td>"));
        let age = page.find(">age<").unwrap_or(usize::MAX);
        let zip = page.find(">zip<").unwrap_or(0);
        assert!(age < zip, "features are sorted");
        // Within a feature: splits in order of appearance (train first).
        let drift_at = page.find(">drift<").unwrap_or(usize::MAX);
        let skew_at = page.find(">skew<").unwrap_or(0);
        assert!(drift_at < skew_at);
        for text in [
            "<span class=\"kind k-distribution\">drift</span>",
            "<span class=\"kind k-values\">out of domain</span>",
            "<span class=\"kind k-schema\">missing column</span>",
            "out of domain found",
            "<code class=\"chip\"><span class=\"val\">00000</span></code>",
            "<code class=\"chip\"><span class=\"val\">ABCDE</span></code>",
            "<th class=\"num\">Distance / threshold</th>",
            ">0.2346 &gt; 0.1</td>",
            "<td class=\"num dist over\"",
            ">0.05 ≤ 0.1</td>",
            "<td class=\"num muted\">—</td>",
        ] {
            assert!(page.contains(text), "{text} is missing");
        }
    }

    #[test]
    fn no_distances_no_distance_column() {
        let anomalies = Anomalies {
            anomalies: vec![anomaly("train", "age", AnomalyKind::OutOfRange)],
        };
        let page = anomalies_html(&anomalies, "t");
        assert!(!page.contains("Distance"));
    }

    #[test]
    fn user_text_is_escaped_and_examples_are_limited() {
        let nasty = r#"<script>"x"&'y'"#;
        let mut bad = anomaly(nasty, nasty, AnomalyKind::OutOfDomain);
        bad.description = format!("value {nasty} is not allowed");
        bad.examples = (0..25).map(|i| format!("{nasty}{i}")).collect();
        let page = anomalies_html(
            &Anomalies {
                anomalies: vec![bad],
            },
            nasty,
        );
        assert!(!page.contains("<script"));
        assert!(!page.contains(r#""x""#));
        assert!(!page.contains("&'y'"));
        let escaped = "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;";
        assert!(page.contains(&format!("<title>{escaped}</title>")));
        assert!(page.contains(&format!("<td class=\"name\" rowspan=\"1\">{escaped}</td>")));
        assert!(page.contains(&format!("<td class=\"split\">{escaped}</td>")));
        assert!(page.contains(&format!("value {escaped} is not allowed")));
        assert_eq!(
            page.matches("<code class=\"chip\">").count(),
            EXAMPLES_SHOWN
        );
        assert!(page.contains("+5 more"));
        assert!(page.contains(&format!(">{escaped}19<")));
        assert!(!page.contains(&format!(">{escaped}20<")));
    }
}
