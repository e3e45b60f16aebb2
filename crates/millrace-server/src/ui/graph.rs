//! Graphs as SVG, laid out on the server: a pipeline's nodes, an artifact's lineage.
//!
//! **Algorithm.** A layered (Sugiyama-style) layout, left to right. (1) Each node's layer is
//! the length of the longest path reaching it (Kahn's topological order; a node left over by
//! a cycle — which a pipeline or lineage cannot have — goes to a last layer). (2) Within a
//! layer, nodes are ordered to cross few edges: four down-and-up sweeps, each sorting a layer
//! by the barycenter (mean position) of its neighbours in the layer before. (3) Layers become
//! columns, positions rows, each column centred on the tallest; an edge that spans several
//! columns gets a waypoint in each column between, ordered with the boxes, so that it passes
//! between boxes instead of under them; edges are drawn as cubic curves through their
//! waypoints.
//!
//! **Bound.** No crossing minimum is promised (that problem is NP-hard); barycenter sweeps are
//! the usual heuristic and leave pipelines' fan-out/fan-in shapes uncrossed.
//!
//! **Cost.** O(V + E) for the layers and O(S · (W log W + E')) for S = 8 sweeps, where W and
//! E' count the waypoints and the edge pieces between them too: a 1,000-node
//! graph lays out in well under a millisecond, and the browser draws a static SVG — no layout
//! script runs in the page, which is where large graphs hang in other UIs.

use maud::{Markup, html};

/// Width and height of a node's box, and the gaps between columns and rows.
const NODE_WIDTH: f64 = 190.0;
const NODE_HEIGHT: f64 = 40.0;
const COLUMN_GAP: f64 = 60.0;
const ROW_GAP: f64 = 14.0;
const MARGIN: f64 = 8.0;
/// Labels longer than this are cut (the whole label is the box's tooltip).
const LABEL_CHARS: usize = 24;
/// Barycenter sweeps (each down then up).
const SWEEPS: usize = 4;

/// What a box stands for; the stylesheet draws them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A pipeline node or an execution.
    Task,
    /// An artifact.
    Artifact,
}

/// One box.
#[derive(Debug, Clone)]
pub(crate) struct GraphNode {
    /// Unique among the graph's nodes; written as `data-node`, which live updates find.
    pub(crate) key: String,
    pub(crate) label: String,
    /// A second line: a type, a duration.
    pub(crate) detail: Option<String>,
    /// `data-state`, which colours the box.
    pub(crate) state: Option<&'static str>,
    pub(crate) href: Option<String>,
    pub(crate) shape: Shape,
    /// Drawn with a thicker outline: the artifact a lineage page is about.
    pub(crate) focus: bool,
}

/// Boxes and arrows between them (indices into `nodes`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    pub(crate) nodes: Vec<GraphNode>,
    pub(crate) edges: Vec<(usize, usize)>,
}

/// Where each box goes (its column and row), and the rows each edge passes through.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// `(column, row)` of each node.
    pub(crate) places: Vec<(usize, usize)>,
    /// How many rows each column has (boxes and edges passing through).
    pub(crate) column_sizes: Vec<usize>,
    /// How each drawable edge goes.
    pub(crate) routes: Vec<Route>,
}

/// An edge's way: its source, its target, and the `(column, row)` of each column it crosses
/// between them.
pub(crate) type Route = (usize, usize, Vec<(usize, usize)>);

impl Graph {
    /// Lays the graph out: columns by longest-path layers, an edge that spans several columns
    /// broken by a waypoint in each column between (so that it never runs under a box), and
    /// rows by barycenter sweeps over boxes and waypoints alike.
    pub(crate) fn layout(&self) -> Layout {
        let count = self.nodes.len();
        let edges: Vec<(usize, usize)> = self
            .edges
            .iter()
            .copied()
            .filter(|&(from, to)| from < count && to < count && from != to)
            .collect();
        let mut successors = vec![Vec::new(); count];
        let mut predecessors = vec![Vec::new(); count];
        for &(from, to) in &edges {
            successors[from].push(to);
            predecessors[to].push(from);
        }
        // Layers: longest path, in Kahn's order.
        let mut pending: Vec<usize> = predecessors.iter().map(Vec::len).collect();
        let mut ready: std::collections::VecDeque<usize> =
            (0..count).filter(|&node| pending[node] == 0).collect();
        let mut layer = vec![0usize; count];
        let mut placed = vec![false; count];
        while let Some(node) = ready.pop_front() {
            placed[node] = true;
            for &next in &successors[node] {
                layer[next] = layer[next].max(layer[node] + 1);
                pending[next] -= 1;
                if pending[next] == 0 {
                    ready.push_back(next);
                }
            }
        }
        let deepest = layer.iter().copied().max().unwrap_or(0);
        for node in 0..count {
            if !placed[node] {
                layer[node] = deepest + 1;
            }
        }
        // Waypoints: vertices after the real ones, one per column an edge crosses; edges that
        // go left (only through a cycle) are drawn straight.
        let mut vertex_layer = layer.clone();
        let mut up: Vec<Vec<usize>> = vec![Vec::new(); count];
        let mut down: Vec<Vec<usize>> = vec![Vec::new(); count];
        let mut chains: Vec<(usize, usize, Vec<usize>)> = Vec::with_capacity(edges.len());
        for &(from, to) in &edges {
            let mut chain = Vec::new();
            let mut previous = from;
            if layer[to] > layer[from] {
                for column in layer[from] + 1..layer[to] {
                    let waypoint = vertex_layer.len();
                    vertex_layer.push(column);
                    up.push(vec![previous]);
                    down.push(Vec::new());
                    down[previous].push(waypoint);
                    chain.push(waypoint);
                    previous = waypoint;
                }
            }
            up[to].push(previous);
            down[previous].push(to);
            chains.push((from, to, chain));
        }
        let vertices = vertex_layer.len();
        let columns = vertex_layer
            .iter()
            .copied()
            .max()
            .map_or(0, |last| last + 1);
        let mut order: Vec<Vec<usize>> = vec![Vec::new(); columns];
        for vertex in 0..vertices {
            order[vertex_layer[vertex]].push(vertex);
        }
        let mut row = vec![0usize; vertices];
        for column in &order {
            for (index, &vertex) in column.iter().enumerate() {
                row[vertex] = index;
            }
        }
        let sort_by = |column: &mut Vec<usize>, neighbours: &[Vec<usize>], row: &[usize]| {
            let key = |vertex: usize| -> f64 {
                let around = &neighbours[vertex];
                if around.is_empty() {
                    row[vertex] as f64
                } else {
                    around.iter().map(|&other| row[other] as f64).sum::<f64>() / around.len() as f64
                }
            };
            let mut keyed: Vec<(f64, usize, usize)> = column
                .iter()
                .map(|&vertex| (key(vertex), row[vertex], vertex))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *column = keyed.into_iter().map(|(_, _, vertex)| vertex).collect();
        };
        for _ in 0..SWEEPS {
            for column in order.iter_mut().skip(1) {
                sort_by(column, &up, &row);
                for (position, &vertex) in column.iter().enumerate() {
                    row[vertex] = position;
                }
            }
            for index in (0..columns.saturating_sub(1)).rev() {
                sort_by(&mut order[index], &down, &row);
                for (position, &vertex) in order[index].iter().enumerate() {
                    row[vertex] = position;
                }
            }
        }
        Layout {
            places: (0..count).map(|node| (layer[node], row[node])).collect(),
            column_sizes: order.iter().map(Vec::len).collect(),
            routes: chains
                .into_iter()
                .map(|(from, to, chain)| {
                    let waypoints = chain
                        .into_iter()
                        .map(|vertex| (vertex_layer[vertex], row[vertex]))
                        .collect();
                    (from, to, waypoints)
                })
                .collect(),
        }
    }

    /// The graph as an SVG picture; boxes with an `href` are links.
    pub(crate) fn to_svg(&self) -> Markup {
        let layout = self.layout();
        let tallest = layout.column_sizes.iter().copied().max().unwrap_or(0);
        let width = layout.column_sizes.len() as f64 * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
            + 2.0 * MARGIN;
        let height = tallest as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP + 2.0 * MARGIN;
        // The top-left corner of the cell at (column, row), each column centred.
        let cell = |(column, row): (usize, usize)| -> (f64, f64) {
            let shift =
                (tallest - layout.column_sizes[column]) as f64 * (NODE_HEIGHT + ROW_GAP) / 2.0;
            (
                MARGIN + column as f64 * (NODE_WIDTH + COLUMN_GAP),
                MARGIN + shift + row as f64 * (NODE_HEIGHT + ROW_GAP),
            )
        };
        let route = |from: usize, to: usize, waypoints: &[(usize, usize)]| -> String {
            let (x, y) = cell(layout.places[from]);
            let mut points = vec![(x + NODE_WIDTH, y + NODE_HEIGHT / 2.0)];
            for &waypoint in waypoints {
                let (x, y) = cell(waypoint);
                points.push((x, y + NODE_HEIGHT / 2.0));
                points.push((x + NODE_WIDTH, y + NODE_HEIGHT / 2.0));
            }
            let (x, y) = cell(layout.places[to]);
            points.push((x, y + NODE_HEIGHT / 2.0));
            let mut path = format!("M{:.0},{:.0}", points[0].0, points[0].1);
            for pair in points.windows(2) {
                let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
                if (y1 - y2).abs() < 0.5 {
                    path.push_str(&format!(" L{x2:.0},{y2:.0}"));
                } else {
                    let middle = (x1 + x2) / 2.0;
                    path.push_str(&format!(
                        " C{middle:.0},{y1:.0} {middle:.0},{y2:.0} {x2:.0},{y2:.0}"
                    ));
                }
            }
            path
        };
        html! {
            div.graph-frame {
                svg.graph xmlns="http://www.w3.org/2000/svg" width=(format!("{width:.0}"))
                    height=(format!("{height:.0}")) viewBox=(format!("0 0 {width:.0} {height:.0}")) {
                    defs {
                        marker #arrow viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"
                            markerHeight="7" orient="auto-start-reverse" {
                            path d="M 0 0 L 10 5 L 0 10 z" {}
                        }
                    }
                    @for (from, to, waypoints) in &layout.routes {
                        path.edge d=(route(*from, *to, waypoints)) marker-end="url(#arrow)" {}
                    }
                    @for (index, node) in self.nodes.iter().enumerate() {
                        @let (x, y) = cell(layout.places[index]);
                        @let body = self.node_body(node, x, y);
                        @if let Some(href) = &node.href {
                            a href=(href) { (body) }
                        } @else {
                            (body)
                        }
                    }
                }
            }
        }
    }

    fn node_body(&self, node: &GraphNode, x: f64, y: f64) -> Markup {
        let shape = match node.shape {
            Shape::Task => "task",
            Shape::Artifact => "artifact",
        };
        html! {
            g.node.(shape) .focus[node.focus] data-node=(node.key) data-state=[node.state]
                transform=(format!("translate({x:.0},{y:.0})")) {
                title { (node.label) @if let Some(detail) = &node.detail { " · " (detail) } }
                rect width=(NODE_WIDTH) height=(NODE_HEIGHT) rx=(if node.shape == Shape::Artifact { 14 } else { 4 }) {}
                text x="10" y="17" { (cut(&node.label)) }
                @if let Some(detail) = &node.detail {
                    text.detail x="10" y="32" { (cut(detail)) }
                }
            }
        }
    }
}

/// `text` cut to [`LABEL_CHARS`] characters, with an ellipsis when cut.
fn cut(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(LABEL_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(count: usize, edges: &[(usize, usize)]) -> Graph {
        Graph {
            nodes: (0..count)
                .map(|index| GraphNode {
                    key: format!("n{index}"),
                    label: format!("n{index}"),
                    detail: None,
                    state: None,
                    href: None,
                    shape: Shape::Task,
                    focus: false,
                })
                .collect(),
            edges: edges.to_vec(),
        }
    }

    #[test]
    fn a_node_sits_one_column_right_of_its_furthest_predecessor() {
        // 0 → 1 → 2, and 0 → 2 directly: 2 is in column 2, not 1.
        let layout = graph(3, &[(0, 1), (1, 2), (0, 2)]).layout();
        let columns: Vec<usize> = layout.places.iter().map(|place| place.0).collect();
        assert_eq!(columns, [0, 1, 2]);
        assert_eq!(
            layout.column_sizes,
            [1, 2, 1],
            "column 1: box 1 and the long edge's waypoint"
        );
    }

    #[test]
    fn sweeps_uncross_two_parallel_chains_given_crossed() {
        // Sources 0 and 1; 0 → 3 and 1 → 2, listed so that rows would cross if kept.
        let layout = graph(4, &[(0, 3), (1, 2)]).layout();
        let row = |node: usize| layout.places[node].1;
        assert_eq!(row(0) < row(1), row(3) < row(2));
    }

    #[test]
    fn an_edge_across_columns_passes_through_a_waypoint_in_each() {
        // 0 → 1 → 2 → 3, and 0 → 3: the long edge crosses columns 1 and 2.
        let layout = graph(4, &[(0, 1), (1, 2), (2, 3), (0, 3)]).layout();
        let long = layout
            .routes
            .iter()
            .find(|(from, to, _)| (*from, *to) == (0, 3))
            .unwrap();
        let columns: Vec<usize> = long.2.iter().map(|waypoint| waypoint.0).collect();
        assert_eq!(columns, [1, 2]);
        assert_eq!(
            layout.column_sizes,
            [1, 2, 2, 1],
            "each middle column: a box and a waypoint"
        );
        assert!(
            long.2
                .iter()
                .all(|&waypoint| waypoint != layout.places[1] && waypoint != layout.places[2])
        );
    }

    #[test]
    fn a_cycle_does_not_hang_the_layout_and_every_node_is_placed() {
        let layout = graph(3, &[(0, 1), (1, 2), (2, 1)]).layout();
        assert_eq!(layout.places.len(), 3);
        let mut places = layout.places.clone();
        places.sort_unstable();
        places.dedup();
        assert_eq!(
            places.len(),
            3,
            "no two boxes in one place: {:?}",
            layout.places
        );
    }

    #[test]
    fn labels_in_the_picture_are_escaped_and_cut() {
        let mut picture = graph(1, &[]);
        picture.nodes[0].label = "<script>alert(1)</script> and a long tail".to_owned();
        let svg = picture.to_svg().into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; and a long tail"));
        assert!(svg.contains('…'));
    }
}
