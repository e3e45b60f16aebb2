//! Being written.
/// Placeholder.
#[derive(Debug, Clone, Default)]
pub struct QuantileSketch;
