//! The cache key: everything a node's result depends on, typed, hashed and explained.
//!
//! A component node's result can be reused when nothing it depends on changed: its kind and
//! version, its configuration with this run's parameter values, the ids of its input
//! artifacts (a LIVE artifact never changes), its outputs' names and types, and — for
//! components that read outside the pipeline — a fingerprint of what they read. [`CacheKey`]
//! holds exactly that; its [`fingerprint`](CacheKey::fingerprint) names the cache entry; it is
//! recorded with every execution (the `cache_components` property) so that
//! [`changes_since`](CacheKey::changes_since) can say, later and in another process, what made
//! a node miss the cache.
//!
//! ```
//! use std::collections::BTreeMap;
//! use millrace_runner::{CacheChange, CacheKey};
//! use serde_json::json;
//!
//! let key = |name: &str| CacheKey {
//!     kind: "hello.greet".into(),
//!     version: 1,
//!     config: json!({"name": name}),
//!     inputs: BTreeMap::new(),
//!     outputs: BTreeMap::from([("greeting".into(), "Dataset".into())]),
//!     external: None,
//! };
//! let (before, after) = (key("world"), key("Ada"));
//! assert_ne!(before.fingerprint(), after.fingerprint());
//! let changes = after.changes_since(&before);
//! assert_eq!(changes.len(), 1);
//! assert!(matches!(&changes[0], CacheChange::Config { name, .. } if name == "name"));
//! assert_eq!(changes[0].to_string(), r#"configuration value `name` changed: "world" → "Ada""#);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use millrace_core::Fingerprint;
use millrace_metadata::Value;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What a component node's cached result depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The component kind.
    pub kind: String,
    /// The component's version.
    pub version: u32,
    /// The configuration, with this run's runtime parameters substituted.
    pub config: Json,
    /// The ids of the input artifacts, by input name.
    pub inputs: BTreeMap<String, Vec<i64>>,
    /// The artifact type of each output, by output name.
    pub outputs: BTreeMap<String, String>,
    /// A fingerprint of what the component reads from outside the pipeline (input files, a
    /// command and the parameters its placeholders name), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<String>,
}

impl CacheKey {
    /// The cache key's fingerprint, 64 hex digits: the name of its cache entry. The same as
    /// Millrace has always computed for the same components, so stores keep hitting.
    pub fn fingerprint(&self) -> String {
        Fingerprint::of_value(&self.to_json()).to_hex()
    }

    /// The key as JSON.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// The key as a metadata property (a struct), as executions record it.
    pub fn to_property(&self) -> Value {
        match self.to_json() {
            Json::Object(map) => Value::Struct(map),
            _ => Value::Struct(serde_json::Map::new()),
        }
    }

    /// The key an execution recorded, if it is one. A struct property comes back from
    /// ML-Metadata with every number a double (`3` reads as `3.0`); whole numbers are made
    /// integers again, so that keys read back compare equal to each other.
    pub fn from_property(value: &Value) -> Option<CacheKey> {
        let Value::Struct(map) = value else {
            return None;
        };
        serde_json::from_value(whole_numbers_as_integers(&Json::Object(map.clone()))).ok()
    }

    /// What differs between `earlier` and this key, part by part.
    pub fn changes_since(&self, earlier: &CacheKey) -> Vec<CacheChange> {
        let mut changes = Vec::new();
        if self.kind != earlier.kind {
            changes.push(CacheChange::Kind {
                before: earlier.kind.clone(),
                after: self.kind.clone(),
            });
        }
        if self.version != earlier.version {
            changes.push(CacheChange::Version {
                before: earlier.version,
                after: self.version,
            });
        }
        let empty = serde_json::Map::new();
        let (old, new) = (
            earlier.config.as_object().unwrap_or(&empty),
            self.config.as_object().unwrap_or(&empty),
        );
        if earlier.config.is_object() || self.config.is_object() {
            for name in union(old.keys(), new.keys()) {
                let (before, after) = (old.get(name), new.get(name));
                if before != after {
                    changes.push(CacheChange::Config {
                        name: name.clone(),
                        before: before.cloned(),
                        after: after.cloned(),
                    });
                }
            }
        } else if earlier.config != self.config {
            changes.push(CacheChange::Config {
                name: String::new(),
                before: Some(earlier.config.clone()),
                after: Some(self.config.clone()),
            });
        }
        for name in union(earlier.inputs.keys(), self.inputs.keys()) {
            let (before, after) = (earlier.inputs.get(name), self.inputs.get(name));
            if before != after {
                changes.push(CacheChange::Inputs {
                    name: name.clone(),
                    before: before.cloned().unwrap_or_default(),
                    after: after.cloned().unwrap_or_default(),
                });
            }
        }
        for name in union(earlier.outputs.keys(), self.outputs.keys()) {
            let (before, after) = (earlier.outputs.get(name), self.outputs.get(name));
            if before != after {
                changes.push(CacheChange::Output {
                    name: name.clone(),
                    before: before.cloned(),
                    after: after.cloned(),
                });
            }
        }
        if self.external != earlier.external {
            changes.push(CacheChange::External {
                before: earlier.external.clone(),
                after: self.external.clone(),
            });
        }
        changes
    }
}

/// The names in either list, sorted, once each.
fn union<'a>(
    first: impl Iterator<Item = &'a String>,
    second: impl Iterator<Item = &'a String>,
) -> BTreeSet<&'a String> {
    first.chain(second).collect()
}

/// `value` with every whole-number double (below 2^53) written as an integer.
fn whole_numbers_as_integers(value: &Json) -> Json {
    match value {
        Json::Number(number) => match number.as_f64() {
            Some(float) if !number.is_i64() && float.fract() == 0.0 && float.abs() < 9.0e15 => {
                Json::from(float as i64)
            }
            _ => value.clone(),
        },
        Json::Array(items) => Json::Array(items.iter().map(whole_numbers_as_integers).collect()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), whole_numbers_as_integers(item)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One part of a cache key that differs from an earlier one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CacheChange {
    /// Another component kind runs the node.
    Kind {
        /// The earlier kind.
        before: String,
        /// The kind now.
        after: String,
    },
    /// The component's version changed (its behaviour did).
    Version {
        /// The earlier version.
        before: u32,
        /// The version now.
        after: u32,
    },
    /// A configuration value changed (a runtime parameter's value included).
    Config {
        /// The configuration field (empty when the whole configuration is not an object).
        name: String,
        /// The earlier value (`None`: it was not set).
        before: Option<Json>,
        /// The value now (`None`: it is not set).
        after: Option<Json>,
    },
    /// An input reads other artifacts.
    Inputs {
        /// The input.
        name: String,
        /// The earlier artifacts' ids.
        before: Vec<i64>,
        /// The artifacts' ids now.
        after: Vec<i64>,
    },
    /// An output was added, removed or changed type.
    Output {
        /// The output.
        name: String,
        /// The earlier artifact type.
        before: Option<String>,
        /// The artifact type now.
        after: Option<String>,
    },
    /// What the component reads from outside the pipeline changed (an input file, a command).
    External {
        /// The earlier fingerprint.
        before: Option<String>,
        /// The fingerprint now.
        after: Option<String>,
    },
}

/// A value as people read it: strings quoted, nothing as `(none)`.
fn shown(value: Option<&Json>) -> String {
    value.map_or_else(|| "(none)".to_owned(), Json::to_string)
}

impl fmt::Display for CacheChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheChange::Kind { before, after } => {
                write!(f, "the component's kind changed: {before} → {after}")
            }
            CacheChange::Version { before, after } => {
                write!(f, "the component's version changed: {before} → {after}")
            }
            CacheChange::Config {
                name,
                before,
                after,
            } => write!(
                f,
                "configuration value `{name}` changed: {} → {}",
                shown(before.as_ref()),
                shown(after.as_ref())
            ),
            CacheChange::Inputs {
                name,
                before,
                after,
            } => write!(
                f,
                "input artifacts of `{name}` changed: {before:?} → {after:?}"
            ),
            CacheChange::Output {
                name,
                before,
                after,
            } => write!(
                f,
                "output `{name}` changed: {} → {}",
                before.as_deref().unwrap_or("(none)"),
                after.as_deref().unwrap_or("(none)")
            ),
            CacheChange::External { .. } => f.write_str(
                "what the component reads from outside the pipeline changed (its input files or its command)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> CacheKey {
        CacheKey {
            kind: "k".into(),
            version: 1,
            config: json!({"a": 1, "b": "x"}),
            inputs: BTreeMap::from([("examples".into(), vec![3])]),
            outputs: BTreeMap::from([("model".into(), "Model".into())]),
            external: None,
        }
    }

    #[test]
    fn the_fingerprint_is_the_hash_of_the_components_json() {
        // The form every earlier version recorded: stores written before keep hitting.
        let components = json!({
            "kind": "k", "version": 1, "config": {"a": 1, "b": "x"},
            "inputs": {"examples": [3]}, "outputs": {"model": "Model"},
        });
        assert_eq!(
            key().fingerprint(),
            Fingerprint::of_value(&components).to_hex()
        );
        let with_external = CacheKey {
            external: Some("abc".into()),
            ..key()
        };
        assert_ne!(with_external.fingerprint(), key().fingerprint());
    }

    #[test]
    fn a_key_read_back_from_the_store_equals_the_key_written() {
        // ML-Metadata stores struct numbers as doubles.
        let stored = Value::Struct(
            json!({
                "kind": "k", "version": 1.0, "config": {"a": 1.0, "b": "x"},
                "inputs": {"examples": [3.0]}, "outputs": {"model": "Model"},
            })
            .as_object()
            .unwrap()
            .clone(),
        );
        assert_eq!(CacheKey::from_property(&stored), Some(key()));
        assert_eq!(CacheKey::from_property(&Value::Int(1)), None);
    }

    #[test]
    fn changes_name_each_part_that_differs() {
        let later = CacheKey {
            version: 2,
            config: json!({"a": 2, "c": true}),
            inputs: BTreeMap::from([("examples".into(), vec![4])]),
            ..key()
        };
        let changes = later.changes_since(&key());
        assert_eq!(
            changes,
            vec![
                CacheChange::Version {
                    before: 1,
                    after: 2
                },
                CacheChange::Config {
                    name: "a".into(),
                    before: Some(json!(1)),
                    after: Some(json!(2))
                },
                CacheChange::Config {
                    name: "b".into(),
                    before: Some(json!("x")),
                    after: None
                },
                CacheChange::Config {
                    name: "c".into(),
                    before: None,
                    after: Some(json!(true))
                },
                CacheChange::Inputs {
                    name: "examples".into(),
                    before: vec![3],
                    after: vec![4]
                },
            ]
        );
        assert!(key().changes_since(&key()).is_empty());
        assert_eq!(
            changes[2].to_string(),
            r#"configuration value `b` changed: "x" → (none)"#
        );
    }
}
