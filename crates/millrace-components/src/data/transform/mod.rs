//! Preprocessing: serialisable ops fitted on the train split and applied to every split, and in
//! serving, identically.

pub mod graph;
pub mod ops;

pub use graph::TransformGraph;
pub use ops::{FittedOp, TransformOp};
