//! Preprocessing: the Transform component, over the ops and the transform graph in
//! [`millrace_tabular::transform`].

#[doc(no_inline)]
pub use millrace_tabular::transform::*;

pub mod transform_component;

pub use transform_component::Transform;
