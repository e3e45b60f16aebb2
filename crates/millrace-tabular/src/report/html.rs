//! The pieces the HTML reports share: escaping, number formatting, the page skeleton with its
//! inline style sheet, and inline SVG / CSS charts. Escaping, number formatting and the page are
//! public, so that other reports (the model components' evaluation report) look the same.
//!
//! Pages are single self-contained files: no scripts, fonts, images or style sheets to fetch.
//! Everything is written into `String`s; `let _ = write!(...)` is used throughout the reports
//! because writing into a `String` cannot fail.

use std::fmt::Write as _;

use crate::statistics::Bucket;

/// The colours of series (one per split), colour-blind friendly (Okabe–Ito); series `i` uses
/// colour `i % SERIES_COLOURS.len()`, through the CSS class [`series_class`] returns.
pub(crate) const SERIES_COLOURS: [&str; 6] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
];

/// The CSS class of each series colour: it sets `fill` (SVG) and `background` (HTML).
const SERIES_CLASSES: [&str; 6] = ["c0", "c1", "c2", "c3", "c4", "c5"];

/// The width of the charts, in pixels.
pub(crate) const CHART_WIDTH: f64 = 260.0;

/// The height of a histogram's plot area, in pixels (axis labels come below).
const PLOT_HEIGHT: f64 = 56.0;

/// The height of the band under a chart that holds the axis labels.
const LABEL_BAND: f64 = 13.0;

/// The height of one series' strip in a quantile chart, and the gap between strips.
const STRIP_HEIGHT: f64 = 11.0;
const STRIP_GAP: f64 = 4.0;

/// The longest tooltip kept in full; longer texts are cut, to keep pages small.
const TOOLTIP_MAX_CHARS: usize = 1000;

/// The style sheet every page gets (the series colours are appended by [`page`]).
const BASE_CSS: &str = r#"
:root{color-scheme:light;--fg:#1f2933;--muted:#5f6b7a;--line:#e3e7ec;--bg:#f6f7f9;--card:#fff;--head:#eef1f5;--warn-bg:#fff3d6;--warn-fg:#7a4b00;--bad-bg:#fde1df;--bad-fg:#a21a12;--ok-bg:#e2f5e7;--ok-fg:#155c2b}
*{box-sizing:border-box}
body{margin:0;padding:20px 28px 40px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:22px;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:17px;margin:28px 0 10px}
h2 .count{color:var(--muted);font-weight:400}
a{color:#0b5cad}
.sub{color:var(--muted);margin:2px 0}
.empty{color:var(--muted);font-style:italic}
table.main{border-collapse:separate;border-spacing:0;background:var(--card);border:1px solid var(--line);border-radius:6px;min-width:100%}
table.main>thead th{position:sticky;top:0;z-index:2;background:var(--head);color:var(--muted);font-size:11.5px;font-weight:600;text-transform:uppercase;letter-spacing:.03em;text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
table.main>tbody>tr>td{padding:4px 8px;vertical-align:top}
table.main>tbody+tbody>tr:first-child>td{border-top:1px solid var(--line)}
table.main>tbody:hover{background:#fafbfc}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{font-weight:600;overflow-wrap:anywhere;min-width:9em;max-width:18em}
td.na{color:var(--muted);font-style:italic}
small,.note{color:var(--muted);font-size:11.5px}
.type{display:inline-block;margin-left:4px;padding:0 5px;border-radius:3px;background:var(--head);color:var(--muted);font:500 11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;vertical-align:1px}
code,.val{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code.chip{display:inline-block;margin:1px 3px 1px 0;padding:0 5px;border-radius:3px;background:var(--head);white-space:pre-wrap;overflow-wrap:anywhere}
.val em,code em{color:var(--muted)}
.warn{background:var(--warn-bg);color:var(--warn-fg)}
.bad{background:var(--bad-bg);color:var(--bad-fg);font-weight:600}
.warn small,.bad small{color:inherit}
.muted{color:var(--muted)}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.split{white-space:nowrap}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:8px 0 4px}
.legend .split{background:var(--card);border:1px solid var(--line);border-radius:4px;padding:3px 8px}
svg{display:block;overflow:visible}
svg text{font-size:10px;fill:var(--muted);font-family:inherit}
svg .base{stroke:#9aa5b1;stroke-width:1}
svg .bar{fill-opacity:.85}
svg.multi .bar{fill-opacity:.5}
svg .seg{fill-opacity:.9}
svg .seg.alt{fill-opacity:.45}
.hbar{display:inline-block;width:120px;height:9px;background:var(--head);border-radius:2px;vertical-align:middle;overflow:hidden}
.hbar>span{display:block;height:100%;min-width:1px}
details{margin-top:4px}
summary{cursor:pointer;color:var(--muted);font-size:12px}
.banner{border-radius:6px;padding:12px 16px;margin:14px 0 18px;border:1px solid}
.banner strong{font-size:17px}
.banner.ok{background:var(--ok-bg);color:var(--ok-fg);border-color:#a7d8b4}
.banner.err{background:var(--bad-bg);color:var(--bad-fg);border-color:#f1aaa4}
.banner .sub{color:inherit;opacity:.85}
footer{margin-top:28px;color:var(--muted);font-size:12px}
"#;

/// Escapes `& < > " '` so that `text` can go in HTML text or a quoted attribute, appending to
/// `out`.
pub fn push_escaped(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
}

/// `text` escaped for HTML text or a quoted attribute (see [`push_escaped`]).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    push_escaped(&mut out, text);
    out
}

/// A data value (a string feature's value, an offending example) as a label: escaped, control
/// characters made visible, cut to `max_chars` characters with an ellipsis, the full value in a
/// tooltip when cut; the empty string shows as an italic "(empty)".
pub(crate) fn value_label(value: &str, max_chars: usize) -> String {
    if value.is_empty() {
        return "<span class=\"val\"><em>(empty)</em></span>".to_owned();
    }
    let mut shown = String::new();
    let mut cut = false;
    for (index, ch) in value.chars().enumerate() {
        if index == max_chars {
            cut = true;
            break;
        }
        shown.push(visible(ch));
    }
    let reshaped = cut || value.chars().any(|ch| visible(ch) != ch);
    let mut out = String::from("<span class=\"val\"");
    if reshaped {
        out.push_str(" title=\"");
        push_escaped(&mut out, &cut_to(value, TOOLTIP_MAX_CHARS));
        out.push('"');
    }
    out.push('>');
    push_escaped(&mut out, &shown);
    if cut {
        out.push('…');
    }
    out.push_str("</span>");
    out
}

/// A character as shown in a label: control characters get a visible stand-in.
fn visible(ch: char) -> char {
    match ch {
        '\n' | '\r' => '↵',
        '\t' => '⇥',
        ch if ch.is_control() => '\u{FFFD}',
        ch => ch,
    }
}

/// `text` cut to `max_chars` characters, with an ellipsis when cut.
fn cut_to(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// An integer with commas between groups of three digits: `1,234,567`, `-1,000`.
pub fn format_int(value: impl Into<i128>) -> String {
    let value: i128 = value.into();
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A float to 4 significant digits, compactly: `12.35`, `0.001234`, `1,235`, `1.234e6`,
/// `1.234e-4` (scientific from 10⁴ up and below 10⁻³), trailing zeros dropped; `NaN`, `inf` and
/// `-inf` as text.
pub fn format_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    // Rounding to 4 significant digits first gives the exponent after rounding (9999.6 is 1e4).
    let scientific = format!("{value:.3e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific;
    };
    if !(-4 < exponent && exponent < 4) {
        return format!("{}e{exponent}", trim_zeros(mantissa));
    }
    let decimals = usize::try_from(3 - exponent).unwrap_or(0);
    let fixed = format!("{value:.decimals$}");
    let fixed = trim_zeros(&fixed);
    // Four-digit whole parts get a separator, like the integers beside them: 1,235.
    if exponent == 3 {
        let (sign, digits) = fixed.split_at(usize::from(fixed.starts_with('-')));
        let (thousands, rest) = digits.split_at(1);
        format!("{sign}{thousands},{rest}")
    } else {
        fixed.to_owned()
    }
}

/// A decimal without the trailing zeros of its fraction (and without a bare point).
fn trim_zeros(decimal: &str) -> &str {
    if decimal.contains('.') {
        decimal.trim_end_matches('0').trim_end_matches('.')
    } else {
        decimal
    }
}

/// A value that may be whole (an int feature's minimum, a bucket's count): whole numbers below
/// 10¹⁵ as integers with separators, anything else as [`format_float`].
pub(crate) fn format_number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format_int(value as i64)
    } else {
        format_float(value)
    }
}

/// `part` as a percentage of `whole`, one decimal: `12.3%`; `0%` and `100%` only when exact
/// (`<0.1%`, `>99.9%` otherwise); `–` when `whole` is not positive.
pub(crate) fn format_share(part: f64, whole: f64) -> String {
    if whole <= 0.0 || !whole.is_finite() || !part.is_finite() {
        return "–".to_owned();
    }
    if part <= 0.0 {
        return "0%".to_owned();
    }
    if part >= whole {
        return "100%".to_owned();
    }
    let percent = part / whole * 100.0;
    if percent < 0.1 {
        "<0.1%".to_owned()
    } else if percent > 99.9 {
        ">99.9%".to_owned()
    } else {
        format!("{percent:.1}%")
    }
}

/// `count` and its share of `whole` as a cell's content: `12 <small>(1.2%)</small>`.
pub(crate) fn count_with_share(count: u64, whole: u64) -> String {
    format!(
        "{} <small>({})</small>",
        format_int(count),
        format_share(count as f64, whole as f64)
    )
}

/// The CSS class of series `index`'s colour.
pub(crate) fn series_class(index: usize) -> &'static str {
    SERIES_CLASSES[index % SERIES_CLASSES.len()]
}

/// A small square of series `index`'s colour, for legends.
pub(crate) fn swatch(index: usize) -> String {
    format!("<span class=\"sw {}\"></span>", series_class(index))
}

/// A complete page: doctype, `<title>` (escaped), the shared style sheet followed by
/// `extra_css`, and `body` (already HTML).
pub fn page(title: &str, extra_css: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + BASE_CSS.len() + extra_css.len() + 600);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"Millrace\">\n<title>",
    );
    push_escaped(&mut out, title);
    out.push_str("</title>\n<style>");
    out.push_str(BASE_CSS);
    for (class, colour) in SERIES_CLASSES.iter().zip(SERIES_COLOURS) {
        // Writing into a String cannot fail.
        let _ = writeln!(out, ".{class}{{fill:{colour};background:{colour}}}");
    }
    out.push_str(extra_css);
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(body);
    out.push_str("\n<footer>Made by Millrace.</footer>\n</body>\n</html>\n");
    out
}

/// A linear scale from values to pixels along a chart's x axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    /// The smallest value covered (where the labels start).
    min: f64,
    /// The largest value covered.
    max: f64,
    /// The value at the left edge (below `min` when the range is a single point).
    left: f64,
    /// The value at the right edge.
    right: f64,
}

impl Axis {
    /// An axis from the smallest to the largest finite value of `values`; `None` without finite
    /// values or when the range is too wide for `f64`.
    pub(crate) fn covering(values: impl IntoIterator<Item = f64>) -> Option<Axis> {
        let (min, max) = values.into_iter().filter(|value| value.is_finite()).fold(
            None,
            |range: Option<(f64, f64)>, value| match range {
                None => Some((value, value)),
                Some((min, max)) => Some((min.min(value), max.max(value))),
            },
        )?;
        let (left, right) = if max > min {
            (min, max)
        } else {
            let pad = if min == 0.0 { 0.5 } else { min.abs() * 0.05 };
            (min - pad, max + pad)
        };
        (right - left).is_finite().then_some(Axis {
            min,
            max,
            left,
            right,
        })
    }

    /// The length of the axis in values.
    fn span(&self) -> f64 {
        self.right - self.left
    }

    /// Where `value` goes, in pixels from the left of a `CHART_WIDTH` chart.
    fn position(&self, value: f64) -> f64 {
        ((value - self.left) / self.span() * CHART_WIDTH).clamp(0.0, CHART_WIDTH)
    }

    /// The axis labels: the minimum at the left and the maximum at the right (one centred label
    /// when they are equal), at height `y`.
    fn labels(&self, out: &mut String, y: f64) {
        if self.max > self.min {
            let _ = write!(
                out,
                "<text x=\"0\" y=\"{y:.1}\">{}</text><text x=\"{CHART_WIDTH:.1}\" y=\"{y:.1}\" \
                 text-anchor=\"end\">{}</text>",
                format_number(self.min),
                format_number(self.max),
            );
        } else {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{}</text>",
                self.position(self.min),
                format_number(self.min),
            );
        }
    }
}

/// One series of a histogram chart: one split's buckets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistogramSeries<'a> {
    /// The series' name, shown in tooltips (a split's name; escaped when written).
    pub(crate) label: &'a str,
    /// The series' colour, an index into [`SERIES_COLOURS`].
    pub(crate) colour: usize,
    /// The buckets, `[low, high)`, the last one closed.
    pub(crate) buckets: &'a [Bucket],
}

/// The total count of some buckets (ignoring counts that are not finite and positive).
fn total_count(buckets: &[Bucket]) -> f64 {
    buckets
        .iter()
        .map(|bucket| bucket.count)
        .filter(|count| count.is_finite() && *count > 0.0)
        .sum()
}

/// A bucket's range as text: `[low, high)`, or `[low, high]` for the last bucket.
fn bucket_range(bucket: &Bucket, last: bool) -> String {
    format!(
        "[{}, {}{}",
        format_number(bucket.low),
        format_number(bucket.high),
        if last { ']' } else { ')' }
    )
}

/// An SVG histogram of one or more series over a shared `axis`: one `<rect class="bar ...">`
/// per bucket with finite bounds, placed by value, so series of different ranges line up.
///
/// Bar heights are densities (the bucket's fraction of its series divided by its width), so
/// series of different sizes and bucket widths compare. Several series are overlaid with
/// transparency. Each bar has a tooltip with its series, range, count and share; the axis
/// minimum and maximum are written under the chart.
pub(crate) fn histogram_svg(series: &[HistogramSeries<'_>], axis: Axis) -> String {
    // Buckets narrower than this (a constant feature's single point) get this width for their
    // density, so that they stay finite.
    let narrowest = axis.span() / 200.0;
    let density = |bucket: &Bucket, total: f64| {
        if total > 0.0 && bucket.count.is_finite() && bucket.count > 0.0 {
            bucket.count / total / (bucket.high - bucket.low).max(narrowest)
        } else {
            0.0
        }
    };
    let finite = |bucket: &&Bucket| bucket.low.is_finite() && bucket.high.is_finite();
    let tallest = series
        .iter()
        .flat_map(|one| {
            let total = total_count(one.buckets);
            one.buckets
                .iter()
                .filter(finite)
                .map(move |bucket| density(bucket, total))
        })
        .fold(0.0_f64, f64::max);

    let height = PLOT_HEIGHT + LABEL_BAND;
    let mut out = String::with_capacity(200 + series.len() * 24 * 140);
    let _ = write!(
        out,
        "<svg class=\"hist{}\" width=\"{CHART_WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {CHART_WIDTH} {height}\" role=\"img\" aria-label=\"histogram\">",
        if series.len() > 1 { " multi" } else { "" },
    );
    for one in series {
        let total = total_count(one.buckets);
        let last_index = one.buckets.len().saturating_sub(1);
        for (index, bucket) in one.buckets.iter().enumerate() {
            if !finite(&bucket) {
                continue;
            }
            let x0 = axis.position(bucket.low);
            let x1 = axis.position(bucket.high);
            // A pixel of gap between neighbours; never thinner than a pixel.
            let width = (x1 - x0 - 1.0).max(1.0);
            let x = if x1 - x0 < 1.0 {
                (x0 - 0.5).max(0.0)
            } else {
                x0
            };
            let mut bar = if tallest > 0.0 {
                density(bucket, total) / tallest * PLOT_HEIGHT
            } else {
                0.0
            };
            if bucket.count > 0.0 && bar < 1.0 {
                bar = 1.0;
            }
            let _ = write!(
                out,
                "<rect class=\"bar {}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{width:.1}\" \
                 height=\"{bar:.1}\"><title>",
                series_class(one.colour),
                PLOT_HEIGHT - bar,
            );
            push_escaped(&mut out, one.label);
            let _ = write!(
                out,
                ": {} · {} ({})</title></rect>",
                bucket_range(bucket, index == last_index),
                format_number(bucket.count),
                format_share(bucket.count, total),
            );
        }
    }
    let _ = write!(
        out,
        "<line class=\"base\" x1=\"0\" y1=\"{PLOT_HEIGHT}\" x2=\"{CHART_WIDTH}\" \
         y2=\"{PLOT_HEIGHT}\"/>"
    );
    axis.labels(&mut out, PLOT_HEIGHT + LABEL_BAND - 2.0);
    out.push_str("</svg>");
    out
}

/// An SVG chart of buckets that hold equal shares of their series (deciles): one strip per
/// series, each bucket a `<rect class="seg ...">` spanning its range on the shared `axis`, in
/// alternating shades, so that narrow segments show where values crowd. Each segment has a
/// tooltip with its series, rank range, value range and count.
pub(crate) fn quantile_strips_svg(series: &[HistogramSeries<'_>], axis: Axis) -> String {
    let rows = series.len() as f64;
    let height = rows * (STRIP_HEIGHT + STRIP_GAP) + LABEL_BAND;
    let mut out = String::with_capacity(200 + series.len() * 12 * 140);
    let _ = write!(
        out,
        "<svg class=\"quantiles\" width=\"{CHART_WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {CHART_WIDTH} {height}\" role=\"img\" aria-label=\"quantiles\">",
    );
    for (row, one) in series.iter().enumerate() {
        let y = row as f64 * (STRIP_HEIGHT + STRIP_GAP);
        let total = total_count(one.buckets);
        let parts = one.buckets.len();
        let last_index = parts.saturating_sub(1);
        let mut below = 0.0;
        for (index, bucket) in one.buckets.iter().enumerate() {
            let count = if bucket.count.is_finite() && bucket.count > 0.0 {
                bucket.count
            } else {
                0.0
            };
            let (from, to) = (below, below + count);
            below = to;
            if !(bucket.low.is_finite() && bucket.high.is_finite()) {
                continue;
            }
            let x0 = axis.position(bucket.low);
            let x1 = axis.position(bucket.high);
            let width = (x1 - x0).max(1.0);
            let x = x0.min(CHART_WIDTH - width);
            let _ = write!(
                out,
                "<rect class=\"seg {}{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" \
                 height=\"{STRIP_HEIGHT}\"><title>",
                series_class(one.colour),
                if index % 2 == 1 { " alt" } else { "" },
            );
            push_escaped(&mut out, one.label);
            let _ = write!(
                out,
                ": {}–{} of values in {} · {}</title></rect>",
                format_share(from, total)
                    .trim_end_matches('%')
                    .trim_end_matches(".0"),
                format_share(to, total).replace(".0%", "%"),
                bucket_range(bucket, index == last_index),
                format_number(bucket.count),
            );
        }
    }
    axis.labels(&mut out, height - 2.0);
    out.push_str("</svg>");
    out
}

/// A horizontal CSS bar `fraction` (0 to 1) full, in series `colour`'s colour (at least a
/// pixel unless `fraction` is 0).
pub(crate) fn hbar(fraction: f64, colour: usize) -> String {
    let percent = if fraction.is_finite() {
        (fraction * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    if percent == 0.0 {
        return "<span class=\"hbar\"></span>".to_owned();
    }
    format!(
        "<span class=\"hbar\"><span class=\"{}\" style=\"width:{percent:.1}%\"></span></span>",
        series_class(colour)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bucket(low: f64, high: f64, count: f64) -> Bucket {
        Bucket { low, high, count }
    }

    #[test]
    fn escaping_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("plain é ✓"), "plain é ✓");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn value_labels_are_escaped_cut_and_visible() {
        assert_eq!(value_label("a<b", 10), "<span class=\"val\">a&lt;b</span>");
        assert_eq!(
            value_label("abcdef", 3),
            "<span class=\"val\" title=\"abcdef\">abc…</span>"
        );
        assert!(value_label("", 3).contains("(empty)"));
        let label = value_label("a\nb\"", 10);
        assert!(label.contains(">a↵b&quot;<"), "{label}");
        assert!(label.contains("title=\"a\nb&quot;\""), "{label}");
        // Cut by characters, not bytes.
        assert!(value_label("ééééé", 2).contains(">éé…<"));
        let long = "x".repeat(5000);
        assert!(value_label(&long, 10).len() < TOOLTIP_MAX_CHARS + 100);
    }

    #[test]
    fn integers_get_thousands_separators() {
        assert_eq!(format_int(0_u64), "0");
        assert_eq!(format_int(999_u64), "999");
        assert_eq!(format_int(1000_u64), "1,000");
        assert_eq!(format_int(1_234_567_u64), "1,234,567");
        assert_eq!(format_int(-1_234_i64), "-1,234");
        assert_eq!(format_int(-123_i64), "-123");
        assert_eq!(format_int(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(format_int(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn floats_get_four_significant_digits_compactly() {
        assert_eq!(format_float(0.0), "0");
        assert_eq!(format_float(-0.0), "0");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(12.5), "12.5");
        assert_eq!(format_float(1.23456), "1.235");
        assert_eq!(format_float(-1.23456), "-1.235");
        assert_eq!(format_float(1234.4), "1,234");
        assert_eq!(format_float(-1000.0), "-1,000");
        assert_eq!(format_float(999.96), "1,000");
        assert_eq!(format_float(9999.6), "1e4");
        assert_eq!(format_float(12346.0), "1.235e4");
        assert_eq!(format_float(1_234_000.0), "1.234e6");
        assert_eq!(format_float(-1_234_000.0), "-1.234e6");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(0.001234), "0.001234");
        assert_eq!(format_float(0.0001234), "1.234e-4");
        assert_eq!(format_float(0.00099996), "0.001");
        assert_eq!(format_float(1e-300), "1e-300");
        assert_eq!(format_float(f64::MAX), "1.798e308");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::INFINITY), "inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn whole_numbers_format_as_integers() {
        assert_eq!(format_number(45000.0), "45,000");
        assert_eq!(format_number(-3.0), "-3");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(1e20), "1e20");
        assert_eq!(format_number(f64::NAN), "NaN");
    }

    #[test]
    fn shares_are_percentages_that_never_round_to_the_ends() {
        assert_eq!(format_share(0.0, 10.0), "0%");
        assert_eq!(format_share(10.0, 10.0), "100%");
        assert_eq!(format_share(1.0, 8.0), "12.5%");
        assert_eq!(format_share(1.0, 100_000.0), "<0.1%");
        assert_eq!(format_share(99_999.0, 100_000.0), ">99.9%");
        assert_eq!(format_share(1.0, 0.0), "–");
        assert_eq!(count_with_share(3, 4), "3 <small>(75.0%)</small>");
    }

    #[test]
    fn axes_cover_finite_values_and_widen_single_points() {
        let axis = Axis::covering([3.0, f64::NAN, -1.0, f64::INFINITY]);
        assert_eq!(
            axis,
            Some(Axis {
                min: -1.0,
                max: 3.0,
                left: -1.0,
                right: 3.0
            })
        );
        assert_eq!(Axis::covering([f64::NAN]), None);
        assert_eq!(Axis::covering([-f64::MAX, f64::MAX]), None);
        let point = Axis::covering([5.0, 5.0]);
        assert!(point.is_some_and(|axis| axis.left < 5.0 && axis.right > 5.0));
    }

    #[test]
    fn histograms_draw_one_bar_per_bucket_with_tooltips() {
        let train = [
            bucket(0.0, 1.0, 5.0),
            bucket(1.0, 2.0, 0.0),
            bucket(2.0, 3.0, 15.0),
        ];
        let eval = [bucket(0.5, 2.0, 2.0), bucket(2.0, 3.5, 2.0)];
        let series = [
            HistogramSeries {
                label: "train",
                colour: 0,
                buckets: &train,
            },
            HistogramSeries {
                label: "<eval>",
                colour: 1,
                buckets: &eval,
            },
        ];
        let axis = Axis::covering([0.0, 3.5]).unwrap();
        let svg = histogram_svg(&series, axis);
        assert_eq!(svg.matches("<rect class=\"bar c0\"").count(), 3);
        assert_eq!(svg.matches("<rect class=\"bar c1\"").count(), 2);
        assert!(
            svg.contains("<title>train: [2, 3] · 15 (75.0%)</title>"),
            "{svg}"
        );
        assert!(svg.contains("<title>&lt;eval&gt;: [0.5, 2) · 2 (50.0%)</title>"));
        assert!(!svg.contains("<eval>"));
        assert!(svg.contains("class=\"hist multi\""));
        // The tallest bar (train's third bucket) fills the plot; the empty bucket is flat.
        assert!(
            svg.contains("y=\"0.0\" width=\"73.3\" height=\"56.0\""),
            "{svg}"
        );
        assert!(svg.contains("height=\"0.0\""));
        // Axis labels.
        assert!(svg.contains(">0</text>") && svg.contains(">3.5</text>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn quantile_strips_draw_one_segment_per_bucket() {
        let deciles: Vec<Bucket> = (0..10)
            .map(|i| bucket(f64::from(i * i), f64::from((i + 1) * (i + 1)), 10.0))
            .collect();
        let series = [HistogramSeries {
            label: "train",
            colour: 2,
            buckets: &deciles,
        }];
        let axis = Axis::covering([0.0, 100.0]).unwrap();
        let svg = quantile_strips_svg(&series, axis);
        assert_eq!(svg.matches("<rect class=\"seg c2").count(), 10);
        assert_eq!(svg.matches("alt\"").count(), 5);
        assert!(svg.contains("<title>train: 0–10% of values in [0, 1) · 10</title>"));
        assert!(
            svg.contains("train: 90–100% of values in [81, 100] · 10"),
            "{svg}"
        );
    }

    #[test]
    fn pages_are_complete_and_escape_their_title() {
        let html = page("a <b> & \"c\"", ".x{}", "<p>body</p>");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"));
        assert!(html.contains(".c5{fill:#d55e00;background:#d55e00}"));
        assert!(html.contains(".x{}</style>"));
        assert!(html.contains("<p>body</p>"));
        assert!(!html.contains("http"), "no external resources");
        assert!(!html.contains("<script"));
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn bars_and_swatches_use_the_series_colours() {
        assert_eq!(series_class(7), "c1");
        assert_eq!(swatch(0), "<span class=\"sw c0\"></span>");
        assert!(hbar(0.25, 3).contains("class=\"c3\" style=\"width:25.0%\""));
        assert!(hbar(2.0, 0).contains("width:100.0%"));
        assert_eq!(hbar(f64::NAN, 0), "<span class=\"hbar\"></span>");
        assert_eq!(hbar(0.0, 0), "<span class=\"hbar\"></span>");
    }
}
