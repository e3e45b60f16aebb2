//! Canonical JSON and the pipeline fingerprint.
//!
//! The canonical form of a value writes no insignificant whitespace, sorts the keys of every
//! map and formats numbers the way `serde_json` does (shortest round-trip form for floats). For
//! a typed value such as a `PipelineSpec`, struct fields come in declaration order and maps
//! (B-tree maps and JSON objects) in sorted key order — so the form is identical in every
//! process and on every machine, whatever the key order of the JSON a spec was read from. The
//! fingerprint is the BLAKE3 hash of that text, streamed into the hasher without building it.

use std::fmt;

use serde_json::Value;

/// A 256-bit BLAKE3 hash, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a JSON value's canonical form.
    pub fn of_value(value: &Value) -> Self {
        Fingerprint::of_serialize(value)
    }

    /// The fingerprint of a serialisable value's canonical form.
    pub fn of_serialize<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        let mut hasher = blake3::Hasher::new();
        if maps_iterate_sorted() {
            // serde_json's maps are B-trees, as are the spec's: its compact output is the
            // canonical form. Buffered, because serde_json writes in tiny pieces and each hasher
            // update has a fixed cost. Writing into a hasher cannot fail.
            let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut hasher);
            let _ = serde_json::to_writer(&mut buffered, value);
            let _ = std::io::Write::flush(&mut buffered);
            drop(buffered);
        } else {
            let value = serde_json::to_value(value).unwrap_or(Value::Null);
            hasher.update(canonical_json(&value).as_bytes());
        }
        Fingerprint(*hasher.finalize().as_bytes())
    }

    /// The fingerprint of some bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Fingerprint(*blake3::hash(bytes).as_bytes())
    }

    /// The hash as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Whether `serde_json::Map` keeps its keys sorted. It does unless some crate in the build
/// enables serde_json's `preserve_order` feature (features unify across a build), in which case
/// the slower explicit canonicalisation below is used.
fn maps_iterate_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut map = serde_json::Map::new();
        map.insert("b".to_owned(), Value::Null);
        map.insert("a".to_owned(), Value::Null);
        map.keys().next().map(String::as_str) == Some("a")
    })
}

/// The canonical JSON text of a JSON value: sorted keys, no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        let value = json!({"b": [ {"z": 1, "a": 2.5} ], "a": "x\"y"});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x\"y","b":[{"a":2.5,"z":1}]}"#
        );
    }

    #[test]
    fn the_streamed_fingerprint_hashes_the_canonical_text() {
        let value = json!({"b": [1, 2.5, "x"], "a": {"d": null, "c": true}});
        assert_eq!(
            Fingerprint::of_value(&value),
            Fingerprint::of_bytes(canonical_json(&value).as_bytes())
        );
    }

    #[test]
    fn fingerprints_differ_with_content_and_not_with_key_order() {
        let one: Value = serde_json::from_str(r#"{"a":1,"b":2}"#).unwrap();
        let same: Value = serde_json::from_str(r#"{"b":2,"a":1}"#).unwrap();
        let other: Value = serde_json::from_str(r#"{"a":1,"b":3}"#).unwrap();
        assert_eq!(Fingerprint::of_value(&one), Fingerprint::of_value(&same));
        assert_ne!(Fingerprint::of_value(&one), Fingerprint::of_value(&other));
        assert_eq!(Fingerprint::of_value(&one).to_hex().len(), 64);
    }
}
