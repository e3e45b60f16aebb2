//! Schemas: SchemaGen, over the document and its inference in [`millrace_tabular::schema`].

#[doc(no_inline)]
pub use millrace_tabular::schema::*;

pub mod schema_gen;

pub use schema_gen::SchemaGen;
