//! Validation of examples against a schema: ExampleValidator, over the anomalies document, the
//! distances and the checks in [`millrace_tabular::validation`].

#[doc(no_inline)]
pub use millrace_tabular::validation::*;

pub mod example_validator;

pub use example_validator::ExampleValidator;
