//! `/compare?run=A&run=B…`: runs side by side — parameters and metrics in rows, the rows that
//! differ marked, the best value of each metric in bold — and a bar chart (SVG) per metric
//! that differs across the runs.

use axum::extract::{Query, State};
use maud::{Markup, html};
use millrace_runner::{ComparedRow, compare_runs};

use super::Failure;
use super::page::{self, Section};
use super::run::run_href;
use crate::ServerState;

/// Charts drawn at most (the table has every metric).
const MAX_CHARTS: usize = 24;
const BAR_HEIGHT: f64 = 18.0;
const LABEL_WIDTH: f64 = 170.0;
const CHART_WIDTH: f64 = 260.0;

/// `GET /compare`.
pub(crate) async fn page(
    State(state): State<ServerState>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Markup, Failure> {
    super::of(&state)?;
    let runs: Vec<String> = query
        .into_iter()
        .filter(|(key, value)| key == "run" && !value.trim().is_empty())
        .flat_map(|(_, value)| {
            value
                .split([',', ' '])
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let picker = html! {
        form.filters method="get" action="/compare" {
            label { "Runs (ids separated by commas)"
                input type="text" name="run" size="60" value=(runs.join(","));
            }
            button type="submit" { "Compare" }
        }
    };
    if runs.len() < 2 {
        let body = html! {
            (picker)
            p.quiet { "Pick two or more runs: tick them on the runs page and press Compare, or list their ids here." }
        };
        return Ok(page::shell("Compare runs", Section::Compare, &body));
    }
    let comparison = compare_runs(&*state.store, &runs).await?;
    let charted: Vec<&ComparedRow<f64>> = comparison
        .metrics
        .iter()
        .filter(|row| row.differs)
        .take(MAX_CHARTS)
        .collect();
    let body = html! {
        (picker)
        table #compare {
            thead {
                tr {
                    th { "" }
                    @for run in &comparison.runs { th { a href=(run_href(&run.run_id)) { code { (run.run_id) } } } }
                }
            }
            tbody {
                tr { th { "Status" } @for run in &comparison.runs { td { (format!("{:?}", run.status).to_lowercase()) } } }
                tr { th { "Started (UTC)" } @for run in &comparison.runs { td { (page::time(run.start_time)) } } }
                tr { th { "Took" } @for run in &comparison.runs { td { @if let Some(end) = run.end_time { (page::duration(end - run.start_time)) } } } }
                tr { th colspan=(comparison.runs.len() + 1) { "Parameters" } }
                @for row in &comparison.params {
                    tr.differs[row.differs] {
                        th { (row.key) }
                        @for value in &row.values { td { @if let Some(value) = value { code { (value) } } } }
                    }
                }
                tr { th colspan=(comparison.runs.len() + 1) { "Metrics" } }
                @for row in &comparison.metrics {
                    @let best = best_index(row);
                    tr.differs[row.differs] {
                        th { (row.key) }
                        @for (index, value) in row.values.iter().enumerate() {
                            td.num.best[row.differs && best == Some(index)] { @if let Some(value) = value { (number(*value)) } }
                        }
                    }
                }
            }
        }
        p.quiet { "Marked rows differ across the runs; in bold, each differing metric's best value (the lowest for a loss or error, else the highest)." }
        @if !charted.is_empty() {
            h2 { "Metrics that differ" }
            div.charts {
                @for row in &charted {
                    figure {
                        figcaption { (row.key) }
                        (bar_chart(row, &comparison.runs.iter().map(|run| run.run_id.as_str()).collect::<Vec<_>>()))
                    }
                }
            }
        }
    };
    Ok(page::shell(
        &format!("Comparing {} runs", comparison.runs.len()),
        Section::Compare,
        &body,
    ))
}

/// Whether lower is better for a metric, judged by its name: losses, errors, times.
fn lower_is_better(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "loss", "error", "rmse", "mae", "mse", "mape", "logloss", "latency", "seconds", "_ms",
        "duration",
    ]
    .iter()
    .any(|word| key.contains(word))
}

fn best_index(row: &ComparedRow<f64>) -> Option<usize> {
    let lower = lower_is_better(&row.key);
    row.values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| value.filter(|v| v.is_finite()).map(|v| (index, v)))
        .reduce(|best, next| {
            let better = if lower {
                next.1 < best.1
            } else {
                next.1 > best.1
            };
            if better { next } else { best }
        })
        .map(|(index, _)| index)
}

fn number(value: f64) -> String {
    millrace_runner::compare::metric_text(value)
}

/// One bar per run, scaled from zero (or from the smallest value, when any is negative).
fn bar_chart(row: &ComparedRow<f64>, runs: &[&str]) -> Markup {
    let values: Vec<f64> = row.values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let high = finite.clone().fold(0.0_f64, f64::max);
    let low = finite.fold(0.0_f64, f64::min);
    let span = (high - low).max(f64::MIN_POSITIVE);
    let height = runs.len() as f64 * (BAR_HEIGHT + 4.0) + 4.0;
    let width = LABEL_WIDTH + CHART_WIDTH + 70.0;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" width=(format!("{width:.0}")) height=(format!("{height:.0}"))
            viewBox=(format!("0 0 {width:.0} {height:.0}")) {
            @for (index, (run, value)) in runs.iter().zip(&values).enumerate() {
                @let y = 4.0 + index as f64 * (BAR_HEIGHT + 4.0);
                text x="0" y=(format!("{:.0}", y + 13.0)) { (run.chars().take(24).collect::<String>()) }
                @if value.is_finite() {
                    @let start = LABEL_WIDTH + (0.0 - low) / span * CHART_WIDTH;
                    @let end = LABEL_WIDTH + (value - low) / span * CHART_WIDTH;
                    rect.bar x=(format!("{:.1}", start.min(end))) y=(format!("{y:.0}"))
                        width=(format!("{:.1}", (end - start).abs().max(1.0))) height=(format!("{BAR_HEIGHT:.0}")) {
                        title { (run) ": " (number(*value)) }
                    }
                    text x=(format!("{:.0}", LABEL_WIDTH + CHART_WIDTH + 4.0)) y=(format!("{:.0}", y + 13.0)) { (number(*value)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, values: &[Option<f64>]) -> ComparedRow<f64> {
        ComparedRow {
            key: key.to_owned(),
            values: values.to_vec(),
            differs: true,
        }
    }

    #[test]
    fn the_best_value_is_the_lowest_error_and_the_highest_score() {
        assert_eq!(
            best_index(&row("evaluator.rmse", &[Some(7.0), Some(5.5), None])),
            Some(1)
        );
        assert_eq!(
            best_index(&row("evaluator.auc", &[Some(0.7), Some(0.9)])),
            Some(1)
        );
        assert_eq!(
            best_index(&row("trainer.loss", &[None, Some(f64::NAN)])),
            None
        );
    }
}
