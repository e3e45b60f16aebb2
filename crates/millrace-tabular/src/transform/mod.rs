//! Preprocessing: serialisable ops fitted on the train split and applied to every split, and in
//! serving, identically.

pub mod examples;
pub mod graph;
pub mod ops;

pub use examples::{apply_graph, apply_graph_to_shard, fit_graph};
pub use graph::{TRANSFORM_GRAPH_FILE, TransformGraph};
pub use ops::{Fill, FittedOp, TransformOp};
