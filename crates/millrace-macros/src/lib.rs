//! # millrace-macros
//!
//! The macros behind Millrace's authoring API. Use them through the `millrace` facade:
//!
//! - `#[derive(Artifact)]` declares an artifact type whose fields are its typed properties;
//! - `#[derive(Inputs)]` and `#[derive(Outputs)]` declare a component's typed channel sets;
//! - `#[component]` turns an `async fn` into a component (the TFX `@component` and KFP
//!   `@dsl.component` equivalent).
//!
//! ```
//! use millrace::prelude::*;
//!
//! /// Sentence embeddings; the fields are the artifact type's typed properties.
//! #[derive(millrace::Artifact)]
//! #[artifact(base = Dataset)]
//! struct Embeddings {
//!     dimension: i64,
//! }
//!
//! /// Scales every value of a data set.
//! #[millrace::component]
//! async fn scale(
//!     data: Input<Dataset>,
//!     scaled: Output<Dataset>,
//!     factor: f64,
//! ) -> Result<(), ComponentError> {
//!     let text = std::fs::read_to_string(data.uri().join("values.txt"))?;
//!     let values: Vec<String> = text
//!         .split_whitespace()
//!         .map(|value| value.parse::<f64>().map(|v| (v * factor).to_string()))
//!         .collect::<Result<_, _>>()?;
//!     std::fs::write(scaled.uri().join("values.txt"), values.join(" "))?;
//!     Ok(())
//! }
//!
//! /// Embeds sentences: its inputs and outputs as typed channel sets.
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Embed;
//!
//! #[derive(millrace::Inputs)]
//! struct EmbedInputs {
//!     sentences: Channel<Dataset>,
//! }
//!
//! #[derive(millrace::Outputs)]
//! struct EmbedOutputs {
//!     embeddings: Channel<Embeddings>,
//! }
//!
//! impl Component for Embed {
//!     const KIND: &'static str = "doc.Embed";
//!     type Inputs = EmbedInputs;
//!     type Outputs = EmbedOutputs;
//!     fn execution(&self) -> Executor<'_> {
//!         Executor::Command(CommandSpec::new(["embed", "{{inputs.sentences.uri}}", "{{outputs.embeddings.uri}}"]))
//!     }
//! }
//!
//! let mut p = Pipeline::builder("demo");
//! let raw = p.import("raw", Importer::<Dataset>::new("data/values"));
//! let scaled = p.add("scale", Scale::new(raw.result, 2.0));
//! let embedded = p.add("embed", Embed.with_inputs(EmbedInputs { sentences: scaled.scaled }));
//! # let _ = embedded.embeddings;
//! let pipeline = p.build().unwrap();
//! assert_eq!(pipeline.spec().node("embed").unwrap().outputs["embeddings"].artifact_type, "Embeddings");
//! ```
//!
//! Generated code names the facade as `::millrace`. Crates that depend on `millrace-core`
//! directly pass `crate = millrace_core` (`#[millrace(crate = millrace_core)]` on derives,
//! `#[component(crate = millrace_core)]` on functions).

mod artifact;
mod attributes;
mod channels;
mod function_component;

use proc_macro::TokenStream;

/// Declares an artifact type; its named fields become its typed properties.
///
/// Attributes: `#[artifact(name = "TypeName", base = Dataset|Model|Metrics|Statistics)]`
/// (the name defaults to the struct's), and `#[millrace(crate = path)]`.
#[proc_macro_derive(Artifact, attributes(artifact, millrace))]
pub fn derive_artifact(input: TokenStream) -> TokenStream {
    artifact::derive(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `InputSet` for a struct of `Channel<T>` (required) and `Option<Channel<T>>`
/// (optional) fields.
#[proc_macro_derive(Inputs, attributes(millrace))]
pub fn derive_inputs(input: TokenStream) -> TokenStream {
    channels::derive_inputs(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `OutputSet` for a struct of `Channel<T>` fields.
#[proc_macro_derive(Outputs, attributes(millrace))]
pub fn derive_outputs(input: TokenStream) -> TokenStream {
    channels::derive_outputs(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns an `async fn` into a component.
///
/// Arguments of type `Input<T>` are required inputs, `Option<Input<T>>` optional inputs,
/// `Output<T>` outputs, `&mut ExecutionContext` (or `&ExecutionContext`) the execution
/// context; every other argument is a parameter, which a pipeline sets to a value or to a
/// runtime parameter. The function must return `Result<(), E>` with `E` convertible into
/// `ComponentError`.
///
/// For `async fn train_model(...)` the macro generates a component struct `TrainModel` with
/// `TrainModel::new(inputs..., parameters...)`, the channel sets `TrainModelInputs` and
/// `TrainModelOutputs`, and the registration. The function itself stays callable.
///
/// Attributes: `kind = "..."` (defaults to `<crate name>.<function name>`),
/// `name = StructName`, `version = N`, `crate = path`.
#[proc_macro_attribute]
pub fn component(attributes: TokenStream, item: TokenStream) -> TokenStream {
    function_component::expand(attributes.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
