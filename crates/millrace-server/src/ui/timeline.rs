//! A run's timeline (a Gantt chart) as SVG: a row per node that executed, a bar per attempt
//! from its start to its end, coloured by how it ended, on one time axis from the run's start.

use maud::{Markup, html};
use millrace_runner::{NodeState, RunDetails};

use super::page;

const LABEL_WIDTH: f64 = 200.0;
const CHART_WIDTH: f64 = 760.0;
const ROW_HEIGHT: f64 = 20.0;
const AXIS_HEIGHT: f64 = 22.0;
/// At most this many rows are drawn (the node table below lists them all).
const MAX_ROWS: usize = 400;

/// One bar: an attempt of a node.
struct Bar {
    start: i64,
    end: i64,
    state: NodeState,
}

/// The timeline of `run`, read at `now_ms` (the end of bars still running).
pub(crate) fn render(run: &RunDetails, now_ms: i64) -> Markup {
    let rows: Vec<(&str, Vec<Bar>)> = run
        .nodes
        .iter()
        .filter_map(|node| {
            let bars: Vec<Bar> = if node.attempts.is_empty() {
                match (node.started_ms, node.finished_ms) {
                    (Some(start), Some(end)) => vec![Bar {
                        start,
                        end,
                        state: node.state,
                    }],
                    _ => Vec::new(),
                }
            } else {
                node.attempts
                    .iter()
                    .map(|attempt| Bar {
                        start: attempt.started_ms,
                        end: if attempt.state == NodeState::Running {
                            now_ms.max(attempt.finished_ms)
                        } else {
                            attempt.finished_ms
                        },
                        state: attempt.state,
                    })
                    .collect()
            };
            (!bars.is_empty()).then_some((node.node.as_str(), bars))
        })
        .take(MAX_ROWS)
        .collect();
    if rows.is_empty() {
        return html! { p.quiet { "No node has executed yet." } };
    }
    let start = run.run.started_ms;
    let end = rows
        .iter()
        .flat_map(|(_, bars)| bars.iter().map(|bar| bar.end))
        .chain(run.run.finished_ms)
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let span = (end - start) as f64;
    let x = |ms: i64| LABEL_WIDTH + (ms - start).max(0) as f64 / span * CHART_WIDTH;
    let height = AXIS_HEIGHT + rows.len() as f64 * ROW_HEIGHT;
    let width = LABEL_WIDTH + CHART_WIDTH + 10.0;
    html! {
        div.graph-frame {
            svg.timeline xmlns="http://www.w3.org/2000/svg" width=(format!("{width:.0}"))
                height=(format!("{height:.0}")) viewBox=(format!("0 0 {width:.0} {height:.0}")) {
                @for tick in 0..=4 {
                    @let at = start + (end - start) * tick / 4;
                    line.axis x1=(format!("{:.0}", x(at))) x2=(format!("{:.0}", x(at))) y1="0"
                        y2=(format!("{height:.0}")) {}
                    text.axis x=(format!("{:.0}", x(at) + 3.0)) y="14" { "+" (page::duration(at - start)) }
                }
                @for (index, (node, bars)) in rows.iter().enumerate() {
                    @let y = AXIS_HEIGHT + index as f64 * ROW_HEIGHT;
                    text x="4" y=(format!("{:.0}", y + 14.0)) { (node) }
                    @for bar in bars {
                        rect.bar data-state=(bar.state.as_str()) x=(format!("{:.1}", x(bar.start)))
                            y=(format!("{:.0}", y + 3.0))
                            width=(format!("{:.1}", (x(bar.end) - x(bar.start)).max(2.0)))
                            height=(format!("{:.0}", ROW_HEIGHT - 6.0)) {
                            title { (node) ": " (page::node_label(bar.state)) ", " (page::duration(bar.end - bar.start)) }
                        }
                    }
                }
            }
        }
    }
}
