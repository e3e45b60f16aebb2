//! Preprocessing: serialisable ops fitted on the train split and applied to every split, and in
//! serving, identically.

pub mod graph;
pub mod ops;
pub mod transform_component;

pub use graph::{TRANSFORM_GRAPH_FILE, TransformGraph};
pub use ops::{Fill, FittedOp, TransformOp};
pub use transform_component::{Transform, apply_graph, fit_graph};
