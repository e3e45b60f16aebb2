//! What validation must know about the component kinds and artifact types a binary can run.
//!
//! The IR names component kinds and artifact types; whether those names mean anything depends
//! on what is registered in the binary that reads the spec. [`validate`](crate::spec::validate())
//! asks a [`Catalog`] — in practice the authoring side's [`Registry`](crate::Registry) — and
//! never reaches into the typed API itself, so the IR stays a leaf that depends on nothing above
//! it.

use serde_json::Value;

use crate::spec::artifact_type::ArtifactTypeInfo;
use crate::spec::command::CommandSpec;
use crate::spec::interface::ComponentInterface;

/// What a catalog knows of one component kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindDescription {
    /// The version registered in this binary.
    pub version: u32,
    /// Its declared inputs and outputs.
    pub interface: ComponentInterface,
    /// Whether its nodes may take `shards` (the component processes a shard of its examples
    /// and merges the shards' results).
    pub shardable: bool,
}

/// How a component kind executes, as found by trying a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriedConfiguration {
    /// In the launcher's process.
    InProcess,
    /// As this command (whose placeholders validation checks).
    Command(CommandSpec),
}

/// The component kinds and artifact types that a spec may name.
pub trait Catalog {
    /// The artifact type called `name`, if known.
    fn find_artifact_type(&self, name: &str) -> Option<ArtifactTypeInfo>;

    /// The component kind called `kind`, if known.
    fn find_component(&self, kind: &str) -> Option<KindDescription>;

    /// Why `name` stands for two different things in this catalog, if it does.
    fn find_conflict(&self, name: &str) -> Option<String>;

    /// Rebuilds component kind `kind` from `config` (runtime parameters already substituted):
    /// how it executes, or why the configuration does not fit the kind.
    fn try_configuration(&self, kind: &str, config: Value) -> Result<TriedConfiguration, String>;
}
