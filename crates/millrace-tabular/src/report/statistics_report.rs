//! The statistics report: a page to look at a data set's statistics, in the manner of Facets
//! Overview.
//!
//! A header gives the title, the span and each split's number of examples, with the split
//! colours' legend. Then two tables, numeric features and string features, hold one group of
//! rows per feature with a line of figures per split, next to charts that overlay the splits:
//! histograms (plus deciles, folded) for numbers, bars of the most frequent values for strings.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::html::{self, Axis, HistogramSeries};
use crate::FeatureType;
use crate::statistics::{
    Bucket, DatasetStatistics, FeatureStatistics, NumericStatistics, ValueCount,
};

/// How many of a string feature's most frequent values are shown.
const TOP_VALUES_SHOWN: usize = 10;

/// The longest value label, in characters (longer ones are cut, with the value in a tooltip).
const VALUE_LABEL_CHARS: usize = 28;

/// The quantiles (in percent) listed under the decile chart.
const LISTED_QUANTILES: [usize; 7] = [1, 5, 25, 50, 75, 95, 99];

/// The style sheet of this page, on top of the shared one.
const CSS: &str = r"
td.chart{width:276px}
table.top{border-collapse:collapse}
table.top td{padding:1px 8px 1px 0;vertical-align:middle}
table.top td.v{max-width:18em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.tv{white-space:nowrap;height:14px;line-height:14px}
.tv .fig{font-size:11px;color:var(--muted);font-variant-numeric:tabular-nums;margin-left:4px}
.tv.na{font-size:11px;color:var(--muted);font-style:italic}
table.q{border-collapse:collapse;font-size:11px;margin-top:6px}
table.q th,table.q td{padding:1px 4px;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.q th{color:var(--muted);font-weight:500}
table.q td:first-child{text-align:left}
.l{height:22px;line-height:22px;white-space:nowrap}
td.name{line-height:22px}
td.num .l.warn,td.num .l.bad{margin:0 -5px;padding:0 5px;border-radius:3px}
.nan{color:var(--warn-fg);font-size:11.5px}
";

/// One feature across the splits: its statistics in each split (in split order), `None` where
/// the split does not have it.
struct Feature<'a> {
    /// The feature's name.
    name: &'a str,
    /// Its statistics per split.
    splits: Vec<Option<&'a FeatureStatistics>>,
}

impl Feature<'_> {
    /// Whether some split has the feature with a type `wanted` accepts.
    fn has_type(&self, wanted: fn(FeatureType) -> bool) -> bool {
        self.splits
            .iter()
            .flatten()
            .any(|feature| wanted(feature.feature_type))
    }

    /// The feature's types, in split order, without repeats: `int`, or `int/float` when splits
    /// disagree.
    fn types(&self) -> String {
        let mut types: Vec<&str> = Vec::new();
        for feature in self.splits.iter().flatten() {
            let name = feature.feature_type.name();
            if !types.contains(&name) {
                types.push(name);
            }
        }
        types.join("/")
    }
}

/// Whether a type is the string type (for [`Feature::has_type`]).
fn is_string(feature_type: FeatureType) -> bool {
    feature_type == FeatureType::String
}

/// Every feature of every split, in order of first appearance.
fn features(statistics: &DatasetStatistics) -> Vec<Feature<'_>> {
    let splits = statistics.splits.len();
    let mut features: Vec<Feature<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (split, split_statistics) in statistics.splits.iter().enumerate() {
        for feature in &split_statistics.features {
            let position = *index.entry(feature.name.as_str()).or_insert_with(|| {
                features.push(Feature {
                    name: &feature.name,
                    splits: vec![None; splits],
                });
                features.len() - 1
            });
            let slot = &mut features[position].splits[split];
            if slot.is_none() {
                *slot = Some(feature);
            }
        }
    }
    features
}

/// The HTML report of `statistics`: a self-contained page titled `title`.
pub fn statistics_html(statistics: &DatasetStatistics, title: &str) -> String {
    let features = features(statistics);
    let numeric: Vec<&Feature<'_>> = features
        .iter()
        .filter(|feature| feature.has_type(FeatureType::is_numeric))
        .collect();
    let strings: Vec<&Feature<'_>> = features
        .iter()
        .filter(|feature| feature.has_type(is_string))
        .collect();
    let mut body = String::with_capacity(16_384 + features.len() * 8_192);
    header(
        &mut body,
        statistics,
        title,
        &features,
        numeric.len(),
        strings.len(),
    );
    if !statistics.splits.is_empty() {
        numeric_section(&mut body, statistics, &numeric);
        string_section(&mut body, statistics, &strings);
    }
    html::page(title, CSS, &body)
}

/// The page header: title, span, counts of features, and the splits with their colours.
fn header(
    out: &mut String,
    statistics: &DatasetStatistics,
    title: &str,
    features: &[Feature<'_>],
    numeric: usize,
    strings: usize,
) {
    // Writing into a String cannot fail: the results of `write!` are ignored throughout.
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<p class=\"sub\">",
        html::escape(title)
    );
    if let Some(span) = statistics.span {
        let _ = write!(out, "Span {span} · ");
    }
    let splits = statistics.splits.len();
    let _ = writeln!(
        out,
        "{splits} split{} · {} feature{}: <a href=\"#numeric\">{numeric} numeric</a>, \
         <a href=\"#string\">{strings} string</a></p>",
        plural(splits),
        features.len(),
        plural(features.len()),
    );
    if splits == 0 {
        out.push_str("<p class=\"empty\">No splits: there is nothing to show.</p>\n");
    } else {
        out.push_str("<div class=\"legend\">");
        for (index, split) in statistics.splits.iter().enumerate() {
            let _ = write!(
                out,
                "<span class=\"split\">{}<b>{}</b> · {} example{}</span>",
                html::swatch(index),
                html::escape(&split.name),
                html::format_int(split.num_examples),
                plural_u64(split.num_examples),
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</header>\n");
}

/// `"s"` unless `count` is 1.
fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// `"s"` unless `count` is 1.
fn plural_u64(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// A table's head: the feature, the split (when there are several), then `columns` (numbers,
/// right-aligned) and the `chart` column.
fn table_head(out: &mut String, class: &str, splits: usize, columns: &[&str], chart: &str) {
    let _ = write!(
        out,
        "<table class=\"main {class}\">\n<thead><tr><th>Feature</th>"
    );
    if splits > 1 {
        out.push_str("<th>Split</th>");
    }
    for column in columns {
        let _ = write!(out, "<th class=\"num\">{column}</th>");
    }
    let _ = writeln!(out, "<th>{chart}</th></tr></thead>");
}

/// One split's entry in a figure cell: a line of a fixed height, so that a split's figures line
/// up across the cells of a feature's row.
struct Line {
    /// CSS classes of the line (`muted`, `warn`, `bad`), or nothing.
    class: &'static str,
    /// A tooltip, or nothing.
    title: &'static str,
    /// The figure, as HTML.
    html: String,
}

impl Line {
    /// A plain line.
    fn plain(html: String) -> Line {
        Line {
            class: "",
            title: "",
            html,
        }
    }

    /// A greyed-out line.
    fn muted(html: &str) -> Line {
        Line {
            class: "muted",
            title: "",
            html: html.to_owned(),
        }
    }

    /// A line for a figure there is none of.
    fn none() -> Line {
        Line::muted("—")
    }

    /// Writes the line.
    fn write(&self, out: &mut String) {
        out.push_str("<div class=\"l");
        if !self.class.is_empty() {
            let _ = write!(out, " {}", self.class);
        }
        out.push('"');
        if !self.title.is_empty() {
            let _ = write!(out, " title=\"{}\"", self.title);
        }
        let _ = write!(out, ">{}</div>", self.html);
    }
}

/// The count and missing lines of a feature in a split; `nan` values are noted with the count.
fn count_lines(feature: &FeatureStatistics, nan: u64) -> [Line; 2] {
    let mut count = html::format_int(feature.count);
    if nan > 0 {
        let _ = write!(
            count,
            " <span class=\"nan\" title=\"NaN values\">· {} NaN</span>",
            html::format_int(nan)
        );
    }
    let total = feature.count.saturating_add(feature.missing);
    let missing = if feature.missing == 0 {
        Line::muted("0")
    } else {
        Line {
            class: if feature.missing > total / 2 {
                "bad"
            } else {
                "warn"
            },
            title: "examples without a value",
            html: html::count_with_share(feature.missing, total),
        }
    };
    [Line::plain(count), missing]
}

/// A feature's row: its name and types, the splits (when there are several, with a note where a
/// split has no figures for this section), `columns` figure cells with a line per split from
/// `lines` (for the splits whose type `belongs` to the section), then the chart cell `chart`
/// writes.
fn feature_row(
    out: &mut String,
    statistics: &DatasetStatistics,
    feature: &Feature<'_>,
    (columns, belongs): (usize, fn(FeatureType) -> bool),
    lines: fn(&FeatureStatistics) -> Vec<Line>,
    chart: impl FnOnce(&mut String),
) {
    let _ = write!(
        out,
        "<tbody><tr><td class=\"name\">{}<span class=\"type\">{}</span></td>",
        html::escape(feature.name),
        feature.types(),
    );
    let mut notes: Vec<Option<String>> = Vec::with_capacity(feature.splits.len());
    let mut figures: Vec<Vec<Line>> = Vec::with_capacity(feature.splits.len());
    for split in &feature.splits {
        let (note, mut split_lines) = match split {
            None => (Some("absent".to_owned()), Vec::new()),
            Some(split) if !belongs(split.feature_type) => {
                (Some(split.feature_type.name().to_owned()), Vec::new())
            }
            Some(split) => (None, lines(split)),
        };
        split_lines.resize_with(columns, Line::none);
        notes.push(note);
        figures.push(split_lines);
    }
    if statistics.splits.len() > 1 {
        out.push_str("<td class=\"split\">");
        for (index, (split, note)) in statistics.splits.iter().zip(&notes).enumerate() {
            let _ = write!(
                out,
                "<div class=\"l\">{}{}",
                html::swatch(index),
                html::escape(&split.name)
            );
            if let Some(note) = note {
                let _ = write!(out, " <small>({note})</small>");
            }
            out.push_str("</div>");
        }
        out.push_str("</td>");
    }
    for column in 0..columns {
        out.push_str("<td class=\"num\">");
        for split_lines in &figures {
            split_lines[column].write(out);
        }
        out.push_str("</td>");
    }
    chart(out);
    out.push_str("</tr></tbody>\n");
}

/// The numeric features' section.
fn numeric_section(out: &mut String, statistics: &DatasetStatistics, features: &[&Feature<'_>]) {
    let _ = writeln!(
        out,
        "<section>\n<h2 id=\"numeric\">Numeric features <span class=\"count\">({})</span></h2>",
        features.len()
    );
    if features.is_empty() {
        out.push_str("<p class=\"empty\">No numeric features.</p>\n</section>\n");
        return;
    }
    let columns = [
        "Count", "Missing", "Mean", "Std dev", "Zeros", "Min", "Median", "Max",
    ];
    table_head(
        out,
        "numeric",
        statistics.splits.len(),
        &columns,
        "Distribution",
    );
    for feature in features {
        feature_row(
            out,
            statistics,
            feature,
            (columns.len(), FeatureType::is_numeric),
            numeric_lines,
            |out| numeric_chart_cell(out, statistics, feature),
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// A numeric feature's figures in one split: count, missing, mean, std dev, zeros, min, median
/// and max.
fn numeric_lines(feature: &FeatureStatistics) -> Vec<Line> {
    let numeric = feature.numeric.as_ref();
    let mut lines = Vec::from(count_lines(
        feature,
        numeric.map_or(0, |numeric| numeric.nan),
    ));
    if let Some(numeric) = numeric {
        lines.push(Line::plain(html::format_float(numeric.mean)));
        lines.push(Line::plain(html::format_float(numeric.std_dev)));
        lines.push(if numeric.zeros == 0 {
            Line::muted("0")
        } else {
            Line::plain(html::count_with_share(numeric.zeros, feature.count))
        });
        lines.push(Line::plain(html::format_number(numeric.min)));
        lines.push(Line::plain(html::format_number(numeric.median)));
        lines.push(Line::plain(html::format_number(numeric.max)));
    }
    lines
}

/// A numeric feature's charts: the splits' histograms overlaid, and their deciles and some
/// quantiles folded underneath.
fn numeric_chart_cell(out: &mut String, statistics: &DatasetStatistics, feature: &Feature<'_>) {
    let numerics: Vec<(usize, &NumericStatistics)> = feature
        .splits
        .iter()
        .enumerate()
        .filter_map(|(split, feature)| {
            feature
                .filter(|feature| feature.feature_type.is_numeric())
                .and_then(|feature| feature.numeric.as_ref())
                .map(|numeric| (split, numeric))
        })
        .collect();
    let series = |buckets: fn(&NumericStatistics) -> &[Bucket]| {
        numerics
            .iter()
            .filter(|(_, numeric)| !buckets(numeric).is_empty())
            .map(|&(split, numeric)| HistogramSeries {
                label: &statistics.splits[split].name,
                colour: split,
                buckets: buckets(numeric),
            })
            .collect::<Vec<_>>()
    };
    let histograms = series(|numeric| &numeric.histogram);
    let deciles = series(|numeric| &numeric.quantile_histogram);
    let axis = Axis::covering(histograms.iter().chain(&deciles).flat_map(|one| {
        one.buckets
            .iter()
            .flat_map(|bucket| [bucket.low, bucket.high])
    }));
    let Some(axis) = axis.filter(|_| !histograms.is_empty() || !deciles.is_empty()) else {
        out.push_str("<td class=\"chart na\">no histogram</td>");
        return;
    };
    out.push_str("<td class=\"chart\">");
    if !histograms.is_empty() {
        out.push_str(&html::histogram_svg(&histograms, axis));
    }
    if !deciles.is_empty() {
        out.push_str("<details><summary>Quantiles</summary>");
        out.push_str(&html::quantile_strips_svg(&deciles, axis));
        out.push_str("<div class=\"note\">Each segment holds a tenth of the values.</div>");
        quantile_table(out, statistics, &numerics);
        out.push_str("</details>");
    }
    out.push_str("</td>");
}

/// Some quantiles of each split, and the bound on their rank error.
fn quantile_table(
    out: &mut String,
    statistics: &DatasetStatistics,
    numerics: &[(usize, &NumericStatistics)],
) {
    let listed: Vec<&(usize, &NumericStatistics)> = numerics
        .iter()
        .filter(|(_, numeric)| numeric.quantiles.len() > 1)
        .collect();
    if listed.is_empty() {
        return;
    }
    out.push_str("<table class=\"q\"><tr><th></th>");
    for percent in LISTED_QUANTILES {
        let _ = write!(out, "<th>p{percent}</th>");
    }
    out.push_str("</tr>");
    for &&(split, numeric) in &listed {
        let _ = write!(
            out,
            "<tr><td>{}{}</td>",
            html::swatch(split),
            html::escape(&statistics.splits[split].name)
        );
        let last = numeric.quantiles.len() - 1;
        for percent in LISTED_QUANTILES {
            let index = ((percent * last) as f64 / 100.0).round() as usize;
            let value = numeric.quantiles[index.min(last)];
            let _ = write!(out, "<td>{}</td>", html::format_number(value));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    let errors: Vec<(usize, String)> = listed
        .iter()
        .filter(|(_, numeric)| numeric.rank_error > 0.0)
        .map(|&&(split, numeric)| (split, html::format_share(numeric.rank_error, 1.0)))
        .collect();
    let Some((_, first)) = errors.first() else {
        return;
    };
    out.push_str("<div class=\"note\">Sketch estimates: ranks within ");
    if errors.len() == listed.len() && errors.iter().all(|(_, error)| error == first) {
        let _ = write!(out, "±{first}");
    } else {
        let each: Vec<String> = errors
            .iter()
            .map(|(split, error)| {
                format!(
                    "±{error} ({})",
                    html::escape(&statistics.splits[*split].name)
                )
            })
            .collect();
        out.push_str(&each.join(", "));
    }
    out.push_str(".</div>");
}

/// The string features' section.
fn string_section(out: &mut String, statistics: &DatasetStatistics, features: &[&Feature<'_>]) {
    let _ = writeln!(
        out,
        "<section>\n<h2 id=\"string\">String features <span class=\"count\">({})</span></h2>",
        features.len()
    );
    if features.is_empty() {
        out.push_str("<p class=\"empty\">No string features.</p>\n</section>\n");
        return;
    }
    let columns = ["Count", "Missing", "Unique", "Avg length"];
    table_head(
        out,
        "string",
        statistics.splits.len(),
        &columns,
        "Top values",
    );
    for feature in features {
        feature_row(
            out,
            statistics,
            feature,
            (columns.len(), is_string),
            string_lines,
            |out| top_values_cell(out, feature),
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// A string feature's figures in one split: count, missing, unique (`≈` when estimated) and
/// average length.
fn string_lines(feature: &FeatureStatistics) -> Vec<Line> {
    let mut lines = Vec::from(count_lines(feature, 0));
    if let Some(string) = &feature.string {
        lines.push(if string.exact {
            Line::plain(html::format_int(string.unique))
        } else {
            Line {
                class: "",
                title: "an estimate",
                html: format!("≈{}", html::format_int(string.unique)),
            }
        });
        lines.push(Line::plain(html::format_float(string.avg_length)));
    }
    lines
}

/// A string feature's most frequent values: one line per value with a bar per split, the values taken from the splits' lists in turn (each split's first, then each
/// split's second, ...).
fn top_values_cell(out: &mut String, feature: &Feature<'_>) {
    // For the splits with string figures: the split, its count of present values, its value
    // counts, and whether those are all its values (so that a value not listed has none).
    let lists: Vec<(usize, u64, &[ValueCount], bool)> = feature
        .splits
        .iter()
        .enumerate()
        .filter_map(|(split, feature)| {
            let feature = feature.filter(|feature| is_string(feature.feature_type))?;
            let string = feature.string.as_ref()?;
            let complete = string.exact && string.top_values.len() as u64 >= string.unique;
            Some((split, feature.count, string.top_values.as_slice(), complete))
        })
        .collect();
    let mut shown: Vec<&str> = Vec::new();
    let longest = lists
        .iter()
        .map(|(_, _, values, _)| values.len())
        .max()
        .unwrap_or(0);
    'ranks: for rank in 0..longest {
        for (_, _, values, _) in &lists {
            if let Some(value) = values.get(rank)
                && !shown.contains(&value.value.as_str())
            {
                if shown.len() == TOP_VALUES_SHOWN {
                    break 'ranks;
                }
                shown.push(&value.value);
            }
        }
    }
    if shown.is_empty() {
        out.push_str("<td class=\"na\">no values</td>");
        return;
    }
    let count_of = |values: &[ValueCount], value: &str| {
        values
            .iter()
            .find(|candidate| candidate.value == value)
            .map(|candidate| candidate.count)
    };
    let share = |count: u64, present: u64| {
        if present == 0 {
            0.0
        } else {
            count as f64 / present as f64
        }
    };
    let widest = shown
        .iter()
        .flat_map(|value| {
            lists.iter().filter_map(|(_, present, values, _)| {
                count_of(values, value).map(|count| share(count, *present))
            })
        })
        .fold(0.0_f64, f64::max);
    out.push_str("<td class=\"chart\"><table class=\"top\">");
    for value in &shown {
        let _ = write!(
            out,
            "<tr><td class=\"v\">{}</td><td>",
            html::value_label(value, VALUE_LABEL_CHARS)
        );
        for &(split, present, values, complete) in &lists {
            match count_of(values, value).or(complete.then_some(0)) {
                Some(count) => {
                    let fraction = share(count, present);
                    let _ = write!(
                        out,
                        "<div class=\"tv\">{}<span class=\"fig\">{} · {}</span></div>",
                        html::hbar(if widest > 0.0 { fraction / widest } else { 0.0 }, split),
                        html::format_int(count),
                        html::format_share(count as f64, present as f64),
                    );
                }
                None => out.push_str("<div class=\"tv na\">not among the top values</div>"),
            }
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
    let unique = feature
        .splits
        .iter()
        .flatten()
        .filter_map(|feature| feature.string.as_ref())
        .map(|string| string.unique)
        .max()
        .unwrap_or(0);
    if unique > shown.len() as u64 {
        let _ = write!(
            out,
            "<div class=\"note\">{} of {} distinct values shown.</div>",
            shown.len(),
            html::format_int(unique)
        );
    }
    out.push_str("</td>");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::statistics::{SplitStatistics, StringStatistics};

    fn numeric(name: &str, count: u64, missing: u64, buckets: usize) -> FeatureStatistics {
        let histogram = (0..buckets)
            .map(|i| Bucket {
                low: i as f64,
                high: i as f64 + 1.0,
                count: (i + 1) as f64,
            })
            .collect();
        let quantile_histogram = (0..10)
            .map(|i| Bucket {
                low: f64::from(i) * buckets as f64 / 10.0,
                high: f64::from(i + 1) * buckets as f64 / 10.0,
                count: count as f64 / 10.0,
            })
            .collect();
        FeatureStatistics {
            name: name.to_owned(),
            feature_type: FeatureType::Float,
            count,
            missing,
            numeric: Some(NumericStatistics {
                mean: 1.5,
                std_dev: 0.25,
                min: 0.0,
                max: buckets as f64,
                median: 1.0,
                zeros: 3,
                nan: 0,
                quantiles: (0..=100)
                    .map(|i| f64::from(i) / 100.0 * buckets as f64)
                    .collect(),
                rank_error: 0.001,
                histogram,
                quantile_histogram,
            }),
            string: None,
        }
    }

    fn string(name: &str, values: &[(&str, u64)], exact: bool) -> FeatureStatistics {
        let count = values.iter().map(|(_, count)| count).sum();
        FeatureStatistics {
            name: name.to_owned(),
            feature_type: FeatureType::String,
            count,
            missing: 0,
            numeric: None,
            string: Some(StringStatistics {
                unique: if exact { values.len() as u64 } else { 1234 },
                exact,
                top_values: values
                    .iter()
                    .map(|(value, count)| ValueCount {
                        value: (*value).to_owned(),
                        count: *count,
                    })
                    .collect(),
                avg_length: 5.5,
            }),
        }
    }

    fn split(name: &str, features: Vec<FeatureStatistics>) -> SplitStatistics {
        SplitStatistics {
            name: name.to_owned(),
            num_examples: 1000,
            features,
        }
    }

    #[test]
    fn user_text_is_escaped_everywhere() {
        let nasty = r#"<script>"x"&'y'"#;
        let statistics = DatasetStatistics {
            span: Some(3),
            splits: vec![
                split(
                    nasty,
                    vec![numeric(nasty, 10, 0, 3), string("s", &[(nasty, 4)], true)],
                ),
                split("eval", vec![string(nasty, &[("a", 1)], true)]),
            ],
        };
        let page = statistics_html(&statistics, nasty);
        assert!(!page.contains("<script"), "unescaped markup");
        assert!(!page.contains(r#""x""#));
        assert!(!page.contains("&'y'"));
        let escaped = "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;";
        assert!(page.contains(&format!("<title>{escaped}</title>")));
        assert!(page.contains(&format!("<h1>{escaped}</h1>")));
        // As a feature name (both sections, as its type differs between splits), a split name
        // (legend, rows, tooltips) and a value.
        assert!(page.matches(escaped).count() >= 8, "{page}");
        assert!(page.contains("Span 3"));
    }

    #[test]
    fn every_feature_and_split_appears_with_a_row_per_split() {
        let statistics = DatasetStatistics {
            span: None,
            splits: vec![
                split(
                    "train",
                    vec![
                        numeric("age", 900, 100, 10),
                        numeric("fare", 1000, 0, 10),
                        string("city", &[("Paris", 600), ("Lyon", 400)], true),
                    ],
                ),
                split(
                    "eval",
                    vec![
                        numeric("age", 400, 600, 10),
                        string("city", &[("Lyon", 70), ("Nice", 30)], false),
                        string("only_in_eval", &[("z", 1)], true),
                    ],
                ),
            ],
        };
        let page = statistics_html(&statistics, "Taxi");
        for name in [
            "age",
            "fare",
            "city",
            "only_in_eval",
            "train",
            "eval",
            "Paris",
            "Nice",
        ] {
            assert!(page.contains(name), "{name} is missing");
        }
        assert_eq!(page.matches("<tbody>").count(), 4);
        // Two splits: a split column, and a line per split in every cell of a feature's row.
        assert!(page.contains("<th>Split</th>"));
        assert_eq!(page.matches("<td class=\"split\">").count(), 4);
        assert_eq!(
            page.matches("<div class=\"l\"><span class=\"sw c1\">")
                .count(),
            4
        );
        assert_eq!(page.matches("<small>(absent)</small>").count(), 2);
        // Lines: 4 features × 2 splits in the split column; figures: 2 numeric features × 2
        // splits × 8, and 2 string features × 2 splits × 4.
        let lines =
            page.matches("<div class=\"l\"").count() + page.matches("<div class=\"l ").count();
        assert_eq!(lines, 4 * 2 + 2 * 2 * 8 + 2 * 2 * 4);
        assert!(page.contains("1,000 examples"));
        // Missing: 10% is a warning, 60% is bad, none is plain.
        assert!(page.contains(
            "<div class=\"l warn\" title=\"examples without a value\">100 <small>(10.0%)</small>"
        ));
        assert!(page.contains(
            "<div class=\"l bad\" title=\"examples without a value\">600 <small>(60.0%)</small>"
        ));
        assert!(page.contains("<div class=\"l muted\">0</div>"));
        // Top values from both splits, eval's own value included: none in train, whose list is
        // complete; unknown in eval, whose list is not.
        assert_eq!(page.matches("not among the top values").count(), 1);
        assert!(page.contains("<span class=\"fig\">0 · 0%</span>"));
        assert!(page.contains("600 · 60.0%"));
    }

    #[test]
    fn histograms_have_a_bar_per_bucket() {
        let statistics = DatasetStatistics {
            span: None,
            splits: vec![
                split(
                    "train",
                    vec![numeric("a", 10, 0, 7), numeric("b", 10, 0, 3)],
                ),
                split("eval", vec![numeric("a", 10, 0, 5)]),
            ],
        };
        let page = statistics_html(&statistics, "t");
        assert_eq!(page.matches("<rect class=\"bar c0\"").count(), 10);
        assert_eq!(page.matches("<rect class=\"bar c1\"").count(), 5);
        assert_eq!(page.matches("<rect class=\"bar ").count(), 15);
        assert_eq!(page.matches("<rect class=\"seg ").count(), 30);
        assert_eq!(page.matches("<details>").count(), 2);
        assert!(page.contains("<th>p50</th>"));
        assert!(page.contains("Sketch estimates: ranks within ±0.1%.</div>"));
        // One split without a histogram still gets a row; no chart when none has one.
        let mut bare = numeric("c", 10, 0, 0);
        if let Some(numeric) = bare.numeric.as_mut() {
            numeric.quantile_histogram.clear();
        }
        let page = statistics_html(
            &DatasetStatistics {
                span: None,
                splits: vec![split("train", vec![bare])],
            },
            "t",
        );
        assert!(!page.contains("<rect"));
        assert!(page.contains("no histogram"));
        assert!(
            !page.contains("<th>Split</th>"),
            "one split needs no split column"
        );
    }

    #[test]
    fn inexact_unique_counts_are_marked() {
        let exact = DatasetStatistics {
            span: None,
            splits: vec![split(
                "train",
                vec![string("s", &[("a", 2), ("b", 1)], true)],
            )],
        };
        let page = statistics_html(&exact, "t");
        assert!(!page.contains('≈'));
        assert!(page.contains("<div class=\"l\">2</div>"));
        let inexact = DatasetStatistics {
            span: None,
            splits: vec![split(
                "train",
                vec![string("s", &[("a", 2), ("b", 1)], false)],
            )],
        };
        let page = statistics_html(&inexact, "t");
        assert!(page.contains("≈1,234"));
        assert!(page.contains("2 of 1,234 distinct values shown"));
    }

    #[test]
    fn top_values_are_limited_cut_and_escaped() {
        let long = format!("{}<end>", "v".repeat(100));
        let mut values: Vec<(String, u64)> =
            (0..30).map(|i| (format!("value{i:02}"), 100 - i)).collect();
        values[0].0 = long;
        values[1].0 = String::new();
        let pairs: Vec<(&str, u64)> = values
            .iter()
            .map(|(value, count)| (value.as_str(), *count))
            .collect();
        let statistics = DatasetStatistics {
            span: None,
            splits: vec![split("train", vec![string("s", &pairs, true)])],
        };
        let page = statistics_html(&statistics, "t");
        assert_eq!(page.matches("<div class=\"tv\">").count(), TOP_VALUES_SHOWN);
        assert!(page.contains("value09") && !page.contains("value10"));
        assert!(page.contains(&format!(
            "title=\"{}&lt;end&gt;\">{}…",
            "v".repeat(100),
            "v".repeat(VALUE_LABEL_CHARS)
        )));
        assert!(!page.contains("<end>"));
        assert!(page.contains("(empty)"));
        // The most frequent value's bar is full.
        assert!(page.contains("style=\"width:100.0%\""));
    }

    #[test]
    fn empty_statistics_make_a_page() {
        let page = statistics_html(
            &DatasetStatistics {
                span: None,
                splits: Vec::new(),
            },
            "Nothing",
        );
        assert!(page.contains("No splits"));
        assert!(page.ends_with("</html>\n"));
        let page = statistics_html(
            &DatasetStatistics {
                span: None,
                splits: vec![split("train", Vec::new())],
            },
            "Nothing",
        );
        assert!(page.contains("No numeric features.") && page.contains("No string features."));
    }

    #[test]
    fn fifty_features_make_a_small_page() {
        let mut features = Vec::new();
        for i in 0..25 {
            features.push(numeric(&format!("number_{i}"), 100_000, 10, 20));
            let values: Vec<(String, u64)> = (0..20)
                .map(|j| (format!("a fairly long categorical value {j:04}"), 1000 - j))
                .collect();
            let pairs: Vec<(&str, u64)> = values
                .iter()
                .map(|(value, count)| (value.as_str(), *count))
                .collect();
            features.push(string(&format!("text_{i}"), &pairs, false));
        }
        let statistics = DatasetStatistics {
            span: Some(1),
            splits: vec![split("train", features.clone()), split("eval", features)],
        };
        let page = statistics_html(&statistics, "Big");
        assert!(page.len() < 1_000_000, "{} bytes", page.len());
    }
}
