//! Drawing a pipeline: Graphviz DOT and Mermaid.
//!
//! Solid edges are data (an output read as an input), dashed edges are resolver queries across
//! runs, dotted edges are `when` conditions; the exit handler has a double border.
//!
//! ```
//! use millrace_core::{Pipeline, graph};
//!
//! let pipeline = Pipeline::builder("empty").build().unwrap();
//! assert!(graph::to_mermaid(pipeline.spec()).starts_with("flowchart TD"));
//! assert!(graph::to_dot(pipeline.spec()).starts_with("digraph"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::spec::{NodeSpec, Operand, PipelineSpec, TaskSpec};

/// How one edge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EdgeStyle {
    Data,
    Query,
    Condition,
}

struct Edge {
    from: usize,
    to: usize,
    label: String,
    style: EdgeStyle,
}

fn edges(spec: &PipelineSpec) -> Vec<Edge> {
    let index_of: BTreeMap<&str, usize> = spec
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| (node.id.as_str(), index))
        .collect();
    let mut edges = Vec::new();
    for (to, node) in spec.nodes.iter().enumerate() {
        let style = match node.task {
            TaskSpec::Resolver { .. } => EdgeStyle::Query,
            _ => EdgeStyle::Data,
        };
        for (input, spec_input) in &node.inputs {
            if let Some(&from) = index_of.get(spec_input.channel.node.as_str()) {
                let label = if input == &spec_input.channel.output {
                    format!("{input}: {}", spec_input.artifact_type)
                } else {
                    format!(
                        "{} → {input}: {}",
                        spec_input.channel.output, spec_input.artifact_type
                    )
                };
                edges.push(Edge {
                    from,
                    to,
                    label,
                    style,
                });
            }
        }
        if let Some(condition) = &node.options.when {
            for operand in condition.operands() {
                if let Operand::ArtifactProperty {
                    channel, property, ..
                } = operand
                    && let Some(&from) = index_of.get(channel.node.as_str())
                {
                    edges.push(Edge {
                        from,
                        to,
                        label: format!("when {}.{property}", channel.output),
                        style: EdgeStyle::Condition,
                    });
                }
            }
        }
    }
    edges
}

fn node_label(node: &NodeSpec) -> (String, String) {
    (node.id.clone(), node.task.label())
}

fn dot_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => {}
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The pipeline as a Graphviz DOT digraph.
pub fn to_dot(spec: &PipelineSpec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", dot_string(&spec.name));
    let _ = writeln!(out, "  rankdir=TB;");
    let _ = writeln!(
        out,
        "  node [shape=box, style=rounded, fontname=\"Helvetica\"];"
    );
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=10];");
    for (index, node) in spec.nodes.iter().enumerate() {
        let (id, kind) = node_label(node);
        let mut attributes = vec![format!("label={}", dot_string(&format!("{id}\n{kind}")))];
        match node.task {
            TaskSpec::Resolver { .. } => attributes.push("style=\"rounded,dashed\"".to_owned()),
            TaskSpec::Importer { .. } => attributes.push("shape=cylinder".to_owned()),
            TaskSpec::Component { .. } => {}
        }
        if spec.exit_handler.as_deref() == Some(node.id.as_str()) {
            attributes.push("peripheries=2".to_owned());
        }
        let _ = writeln!(out, "  n{index} [{}];", attributes.join(", "));
    }
    for edge in edges(spec) {
        let style = match edge.style {
            EdgeStyle::Data => "",
            EdgeStyle::Query => ", style=dashed",
            EdgeStyle::Condition => ", style=dotted",
        };
        let _ = writeln!(
            out,
            "  n{} -> n{} [label={}{style}];",
            edge.from,
            edge.to,
            dot_string(&edge.label)
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("#quot;"),
            '<' => escaped.push_str("#lt;"),
            '>' => escaped.push_str("#gt;"),
            '#' => escaped.push_str("#35;"),
            '\n' | '\r' => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The pipeline as a Mermaid flowchart (renders on GitHub and in most Markdown viewers).
pub fn to_mermaid(spec: &PipelineSpec) -> String {
    let mut out = String::from("flowchart TD\n");
    for (index, node) in spec.nodes.iter().enumerate() {
        let (id, kind) = node_label(node);
        let label = format!(
            "{}<br/><small>{}</small>",
            mermaid_text(&id),
            mermaid_text(&kind)
        );
        let shape = match node.task {
            TaskSpec::Resolver { .. } => format!("n{index}{{{{\"{label}\"}}}}"),
            TaskSpec::Importer { .. } => format!("n{index}[(\"{label}\")]"),
            TaskSpec::Component { .. } => format!("n{index}[\"{label}\"]"),
        };
        let _ = writeln!(out, "  {shape}");
    }
    for edge in edges(spec) {
        let label = mermaid_text(&edge.label);
        let arrow = match edge.style {
            EdgeStyle::Data => format!("-- \"{label}\" -->"),
            EdgeStyle::Query => format!("-. \"{label}\" .->"),
            EdgeStyle::Condition => format!("-. \"{label}\" .->"),
        };
        let _ = writeln!(out, "  n{} {arrow} n{}", edge.from, edge.to);
    }
    if let Some(index) = spec
        .exit_handler
        .as_ref()
        .and_then(|handler| spec.nodes.iter().position(|node| &node.id == handler))
    {
        let _ = writeln!(
            out,
            "  classDef exitHandler stroke-width:3px,stroke-dasharray: 4 2"
        );
        let _ = writeln!(out, "  class n{index} exitHandler");
    }
    out
}
