//! The registry of component kinds and artifact types, by name.
//!
//! A process that reads a spec — `run-node` on an Airflow worker, a pod on Kubernetes — must
//! rebuild each node's component from its kind and configuration. Components register
//! themselves with [`register_component!`](crate::register_component) (the function-component
//! macro does it for you), collected at start-up through `inventory`; [`Registry::global`] sees
//! them all. A component crate that the binary never names is not linked in, and its
//! registrations vanish with it: the `millrace` facade names every component crate it enables,
//! and an explicit registry ([`Registry::register`]) needs no linker help at all.
//!
//! ```
//! use millrace_core::Registry;
//! use millrace_core::artifact::standard::Examples;
//!
//! let mut registry = Registry::empty();
//! registry.register_artifact::<Examples>();
//! assert_eq!(registry.artifact_type_names(), vec!["Examples"]);
//! ```

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::artifact::{Artifact, ArtifactTypeInfo};
use crate::component::{Component, ComponentInterface, ErasedComponent, Executor};
use crate::spec::catalog::{Catalog, KindDescription, TriedConfiguration};

/// How to rebuild one component kind from the IR.
#[derive(Clone, Copy)]
pub struct ComponentRegistration {
    kind: &'static str,
    type_id: fn() -> std::any::TypeId,
    version: u32,
    shardable: bool,
    interface: fn() -> ComponentInterface,
    instantiate: fn(Value) -> Result<Box<dyn ErasedComponent>, serde_json::Error>,
}

impl std::fmt::Debug for ComponentRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentRegistration")
            .field("kind", &self.kind)
            .field("version", &self.version)
            .finish()
    }
}

fn instantiate<C: Component>(config: Value) -> Result<Box<dyn ErasedComponent>, serde_json::Error> {
    let component: C = serde_json::from_value(config)?;
    Ok(Box::new(component))
}

fn type_id<C: Component>() -> std::any::TypeId {
    std::any::TypeId::of::<C>()
}

fn interface<C: Component>() -> ComponentInterface {
    ComponentInterface::of::<C>()
}

impl ComponentRegistration {
    /// The registration of `C`; usable in `inventory::submit!`.
    pub const fn of<C: Component>() -> Self {
        ComponentRegistration {
            kind: C::KIND,
            type_id: type_id::<C>,
            version: C::VERSION,
            shardable: C::SHARDABLE,
            interface: interface::<C>,
            instantiate: instantiate::<C>,
        }
    }

    /// The kind.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether its nodes may take `shards` ([`Component::SHARDABLE`]).
    pub fn shardable(&self) -> bool {
        self.shardable
    }

    /// The declared inputs and outputs.
    pub fn interface(&self) -> ComponentInterface {
        (self.interface)()
    }

    /// Deserialises a configuration into a runnable component.
    pub fn instantiate(&self, config: Value) -> Result<Box<dyn ErasedComponent>, String> {
        (self.instantiate)(config).map_err(|error| error.to_string())
    }

    fn same_component(&self, other: &ComponentRegistration) -> bool {
        (self.type_id)() == (other.type_id)()
            || (self.version == other.version && self.interface() == other.interface())
    }
}

inventory::collect!(ComponentRegistration);
inventory::collect!(ArtifactTypeInfo);

/// Component kinds and artifact types by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    components: BTreeMap<&'static str, ComponentRegistration>,
    artifact_types: BTreeMap<&'static str, ArtifactTypeInfo>,
    conflicts: BTreeMap<&'static str, String>,
}

impl Registry {
    /// A registry with nothing in it.
    pub fn empty() -> Self {
        Registry::default()
    }

    /// Everything registered through `inventory` in this binary, built once.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let mut registry = Registry::empty();
            for artifact_type in inventory::iter::<ArtifactTypeInfo> {
                registry.add_artifact_type(*artifact_type);
            }
            for registration in inventory::iter::<ComponentRegistration> {
                registry.add_component(*registration);
            }
            registry
        })
    }

    /// Registers component `C` and the artifact types of its inputs and outputs.
    pub fn register<C: Component>(&mut self) -> &mut Self {
        self.add_component(ComponentRegistration::of::<C>());
        self
    }

    /// Registers artifact type `A`.
    pub fn register_artifact<A: Artifact>(&mut self) -> &mut Self {
        self.add_artifact_type(A::info());
        self
    }

    /// Adds a registration made elsewhere.
    pub fn add_component(&mut self, registration: ComponentRegistration) {
        if let Some(existing) = self.components.get(registration.kind)
            && (existing.type_id)() == (registration.type_id)()
        {
            return; // the same Rust type again: nothing new to learn
        }
        let interface = registration.interface();
        for input in &interface.inputs {
            self.add_artifact_type(input.artifact_type);
        }
        for output in &interface.outputs {
            self.add_artifact_type(output.artifact_type);
        }
        match self.components.get(registration.kind) {
            Some(existing) if !existing.same_component(&registration) => {
                self.conflicts.insert(
                    registration.kind,
                    format!(
                        "component kind `{}` is registered twice with different interfaces or versions",
                        registration.kind
                    ),
                );
            }
            Some(_) => {}
            None => {
                self.components.insert(registration.kind, registration);
            }
        }
    }

    /// Adds an artifact type described as data.
    pub fn add_artifact_type(&mut self, info: ArtifactTypeInfo) {
        match self.artifact_types.get(info.name) {
            Some(existing) if *existing != info => {
                self.conflicts.insert(
                    info.name,
                    format!(
                        "artifact type `{}` is declared twice with different properties or base types",
                        info.name
                    ),
                );
            }
            Some(_) => {}
            None => {
                self.artifact_types.insert(info.name, info);
            }
        }
    }

    /// Adds everything registered in `other`.
    pub fn merge(&mut self, other: &Registry) {
        for info in other.artifact_types.values() {
            self.add_artifact_type(*info);
        }
        for registration in other.components.values() {
            self.add_component(*registration);
        }
        for (name, conflict) in &other.conflicts {
            self.conflicts.insert(name, conflict.clone());
        }
    }

    /// The registration of component kind `kind`.
    pub fn component(&self, kind: &str) -> Option<&ComponentRegistration> {
        self.components.get(kind)
    }

    /// The artifact type called `name`.
    pub fn artifact_type(&self, name: &str) -> Option<&ArtifactTypeInfo> {
        self.artifact_types.get(name)
    }

    /// Every registered component kind, sorted.
    pub fn component_kinds(&self) -> Vec<&'static str> {
        self.components.keys().copied().collect()
    }

    /// Every registered artifact type name, sorted.
    pub fn artifact_type_names(&self) -> Vec<&'static str> {
        self.artifact_types.keys().copied().collect()
    }

    /// Names registered twice with different meanings, with an explanation each.
    pub fn conflict(&self, name: &str) -> Option<&str> {
        self.conflicts.get(name).map(String::as_str)
    }

    /// Every conflict.
    pub fn conflicts(&self) -> Vec<&str> {
        self.conflicts.values().map(String::as_str).collect()
    }
}

/// Validation of the IR asks the registry what the names in a spec stand for.
impl Catalog for Registry {
    fn find_artifact_type(&self, name: &str) -> Option<ArtifactTypeInfo> {
        self.artifact_type(name).copied()
    }

    fn find_component(&self, kind: &str) -> Option<KindDescription> {
        self.component(kind).map(|registration| KindDescription {
            version: registration.version(),
            interface: registration.interface(),
            shardable: registration.shardable(),
        })
    }

    fn find_conflict(&self, name: &str) -> Option<String> {
        self.conflict(name).map(str::to_owned)
    }

    fn try_configuration(&self, kind: &str, config: Value) -> Result<TriedConfiguration, String> {
        let registration = self
            .component(kind)
            .ok_or_else(|| format!("component kind `{kind}` is not registered"))?;
        let component = registration.instantiate(config)?;
        Ok(match component.execution() {
            Executor::InProcess(_) => TriedConfiguration::InProcess,
            Executor::Command(command) => TriedConfiguration::Command(command),
        })
    }
}

/// Registers a component type so that other processes can rebuild it from the IR by its kind.
///
/// ```
/// use millrace_core::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Tick;
///
/// impl Component for Tick {
///     const KIND: &'static str = "doc.Tick";
///     type Inputs = ();
///     type Outputs = ();
///     fn execution(&self) -> Executor<'_> {
///         Executor::Command(CommandSpec::new(["true"]))
///     }
/// }
///
/// millrace_core::register_component!(Tick);
///
/// assert!(millrace_core::Registry::global().component_kinds().contains(&"doc.Tick"));
/// ```
#[macro_export]
macro_rules! register_component {
    ($component:ty) => {
        $crate::__private::inventory::submit! {
            $crate::ComponentRegistration::of::<$component>()
        }
    };
}

/// Registers an artifact type so that specs naming it validate in other processes.
#[macro_export]
macro_rules! register_artifact {
    ($artifact:ty) => {
        $crate::__private::inventory::submit! {
            $crate::ArtifactTypeInfo::of::<$artifact>()
        }
    };
}
