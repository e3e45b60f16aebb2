//! Being written.
/// Placeholder.
#[derive(Debug, Clone)]
pub enum TransformOp {}
/// Placeholder.
#[derive(Debug, Clone)]
pub enum FittedOp {}
