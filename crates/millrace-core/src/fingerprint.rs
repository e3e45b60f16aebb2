//! Canonical JSON, the IR's JSON writer, and the pipeline fingerprint.
//!
//! The canonical form of a value writes no insignificant whitespace, sorts the keys of every
//! map and formats numbers the way `serde_json` does (shortest round-trip form for floats). For
//! a typed value such as a `PipelineSpec`, struct fields come in declaration order and maps
//! (B-tree maps and JSON objects) in sorted key order — so the form is identical in every
//! process and on every machine, whatever the key order of the JSON a spec was read from. The
//! fingerprint is the BLAKE3 hash of that text, streamed into the hasher without building it.
//!
//! [`JsonWriter`] writes a spec's JSON — compact, or indented as `serde_json::to_string_pretty`
//! does — byte for byte as `serde_json` writes it, by hand: a spec has thousands of nodes, and
//! serde's generic path escapes every key and every string one byte at a time. Keys are written
//! as literals, a string that needs no escape is copied whole, an integer is formatted without a
//! formatter; what is rare or intricate goes through `serde_json` itself. Cost: one pass over
//! the spec, a few instructions a byte of output (a 10,000-node spec: 3 MB compact, 7 MB
//! indented); hashing keeps no more than 64 KB of text at a time.

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

    /// The fingerprint of a canonical JSON text: what [`Fingerprint::of_serialize`] gives for
    /// the value whose canonical JSON it is.
    pub(crate) fn of_canonical_json(text: &str) -> Self {
        Fingerprint::of_bytes(text.as_bytes())
    }

    /// The fingerprint of what `hasher` was given.
    pub(crate) fn of_hasher(hasher: &blake3::Hasher) -> Self {
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
pub(crate) fn maps_iterate_sorted() -> bool {
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

/// How a [`JsonWriter`] lays its text out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// No whitespace: the canonical form (`serde_json::to_string`).
    Compact,
    /// Two spaces a level, `": "` after a key (`serde_json::to_string_pretty`).
    Indented,
}

/// How much text a hashing [`JsonWriter`] gathers before it feeds the hasher: updates have a
/// fixed cost, and 64 KB stays in the cache.
const HASH_CHUNK: usize = 1 << 16;

/// `\n` and the indentation of 32 levels, two spaces each: a new line is a prefix of it.
const NEW_LINE: &[u8] = b"\n                                                                ";

/// Writes JSON text by hand, byte for byte as `serde_json` would write the same values (see
/// the module's documentation). The caller walks its values and says where members and
/// elements start and where containers close, with the depth of the line each is on — what
/// the indented layout needs, and the compact one ignores.
///
/// Valid only while `serde_json`'s maps iterate in sorted order ([`maps_iterate_sorted`]):
/// callers fall back to `serde_json` otherwise.
pub(crate) struct JsonWriter<'h> {
    out: Vec<u8>,
    layout: Layout,
    /// Where the text goes, chunk by chunk, when it is hashed rather than kept.
    hasher: Option<&'h mut blake3::Hasher>,
    /// Compact text of a value given to `serde_json`, to be indented.
    scratch: Vec<u8>,
    /// Whether a value could not be serialised, which leaves no text at all (as
    /// `serde_json::to_string(..).unwrap_or_default()` would).
    failed: bool,
}

impl JsonWriter<'static> {
    /// A writer whose text is kept, expected to take about `capacity` bytes.
    pub(crate) fn text(layout: Layout, capacity: usize) -> Self {
        JsonWriter {
            out: Vec::with_capacity(capacity),
            layout,
            hasher: None,
            scratch: Vec::new(),
            failed: false,
        }
    }
}

impl<'h> JsonWriter<'h> {
    /// A writer of compact text that feeds `hasher` and keeps none.
    pub(crate) fn hashing(hasher: &'h mut blake3::Hasher) -> Self {
        JsonWriter {
            out: Vec::with_capacity(HASH_CHUNK + HASH_CHUNK / 4),
            layout: Layout::Compact,
            hasher: Some(hasher),
            scratch: Vec::new(),
            failed: false,
        }
    }

    /// Writes JSON text as it is: a bracket, a literal.
    pub(crate) fn raw(&mut self, json: &str) {
        self.out.extend_from_slice(json.as_bytes());
    }

    /// Starts a new line at `depth`, in the indented layout.
    fn new_line(&mut self, depth: usize) {
        match NEW_LINE.get(..1 + 2 * depth) {
            Some(prefix) => self.out.extend_from_slice(prefix),
            None => {
                self.out.push(b'\n');
                for _ in 0..depth {
                    self.out.extend_from_slice(b"  ");
                }
            }
        }
    }

    /// Starts an element of an array, or a member of an object before its key, on a line at
    /// `depth`: a comma unless it is the first.
    pub(crate) fn item(&mut self, first: bool, depth: usize) {
        if !first {
            self.out.push(b',');
        }
        if self.layout == Layout::Indented {
            self.new_line(depth);
        }
    }

    /// Ends a key.
    pub(crate) fn colon(&mut self) {
        match self.layout {
            Layout::Compact => self.out.push(b':'),
            Layout::Indented => self.out.extend_from_slice(b": "),
        }
    }

    /// Starts a member of an object whose key needs no escape (a field name), on a line at
    /// `depth`.
    pub(crate) fn key(&mut self, first: bool, depth: usize, key: &str) {
        self.item(first, depth);
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.push(b'"');
        self.colon();
    }

    /// Closes an array or an object opened on a line at `depth`; `empty` if it has no
    /// elements or members (`[]`, `{}`).
    pub(crate) fn close(&mut self, empty: bool, depth: usize, bracket: &str) {
        if !empty && self.layout == Layout::Indented {
            self.new_line(depth);
        }
        self.raw(bracket);
    }

    /// Writes a string, quoted and escaped as `serde_json` does.
    pub(crate) fn string(&mut self, text: &str) {
        // serde_json escapes `"`, `\` and the control characters below U+0020, nothing else.
        let needs_escape = text
            .bytes()
            .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\');
        if needs_escape {
            self.serialize(text, 0);
        } else {
            self.out.reserve(text.len() + 2);
            self.out.push(b'"');
            self.out.extend_from_slice(text.as_bytes());
            self.out.push(b'"');
        }
    }

    /// Writes an unsigned integer.
    pub(crate) fn unsigned(&mut self, number: u64) {
        let mut digits = [0_u8; 20];
        let mut start = digits.len();
        let mut rest = number;
        loop {
            start -= 1;
            // `rest % 10` is a digit.
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[start..]);
    }

    /// Writes a JSON value that starts on a line at `depth`; objects in their maps' (sorted)
    /// order.
    pub(crate) fn value(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Null => self.raw("null"),
            Value::Bool(true) => self.raw("true"),
            Value::Bool(false) => self.raw("false"),
            Value::Number(number) => match number.as_u64() {
                Some(unsigned) => self.unsigned(unsigned),
                None => self.serialize(number, depth),
            },
            Value::String(text) => self.string(text),
            Value::Array(items) => {
                self.raw("[");
                for (index, item) in items.iter().enumerate() {
                    self.item(index == 0, depth + 1);
                    self.value(item, depth + 1);
                }
                self.close(items.is_empty(), depth, "]");
            }
            Value::Object(map) => {
                self.raw("{");
                for (index, (key, item)) in map.iter().enumerate() {
                    self.item(index == 0, depth + 1);
                    self.string(key);
                    self.colon();
                    self.value(item, depth + 1);
                }
                self.close(map.is_empty(), depth, "}");
            }
        }
    }

    /// Writes any serialisable value, starting on a line at `depth`, through `serde_json`.
    pub(crate) fn serialize<T: serde::Serialize + ?Sized>(&mut self, value: &T, depth: usize) {
        // Writing into a vector cannot fail, but a value can (a map whose keys are not
        // strings): then the whole text is empty.
        let written = match self.layout {
            Layout::Compact => serde_json::to_writer(&mut self.out, value),
            Layout::Indented => {
                self.scratch.clear();
                let written = serde_json::to_writer(&mut self.scratch, value);
                indent(&self.scratch, depth, &mut self.out);
                written
            }
        };
        if written.is_err() {
            self.failed = true;
        }
    }

    /// Hands the text written so far to the hasher, if there is one and the text has grown
    /// to a chunk: call it between the parts there are many of.
    pub(crate) fn flush_if_full(&mut self) {
        if let Some(hasher) = &mut self.hasher
            && self.out.len() >= HASH_CHUNK
        {
            hasher.update(&self.out);
            self.out.clear();
        }
    }

    /// The text written, or nothing if a value could not be serialised; a hashing writer
    /// hands the hasher the rest of its text and returns nothing.
    pub(crate) fn finish(mut self) -> String {
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&self.out);
            return String::new();
        }
        if self.failed {
            return String::new();
        }
        // Everything written is UTF-8: literals, whole strings, and serde_json's output.
        let mut text = String::from_utf8(self.out).unwrap_or_default();
        // The capacity was a generous guess; giving the rest back shrinks in place.
        text.shrink_to_fit();
        text
    }
}

/// The indented form of a canonical JSON text — what `serde_json::to_string_pretty` writes for
/// the value whose `serde_json::to_string` form it is — or `None` when the canonical form is
/// not `serde_json`'s compact one (its maps do not iterate sorted; see [`canonical_json`]).
pub(crate) fn indented_json(canonical: &str) -> Option<String> {
    if !maps_iterate_sorted() {
        return None;
    }
    // Indentation about doubles a spec: one reservation, given back after, instead of a
    // dozen regrowths.
    let mut out = Vec::with_capacity(canonical.len().saturating_mul(9) / 4);
    indent(canonical.as_bytes(), 0, &mut out);
    // Indenting moves no string and splits no character: the text stays UTF-8.
    let mut text = String::from_utf8(out).ok()?;
    text.shrink_to_fit();
    Some(text)
}

/// Appends the indented form of `compact` — a compact JSON text as `serde_json::to_string`
/// writes it, for a value that starts on a line at `depth` — to `out`: what
/// `serde_json::to_string_pretty` writes, nested `depth` levels deep. One pass over the bytes:
/// strings are copied as they stand (their escapes already written), and between strings only
/// the punctuation gains whitespace.
fn indent(compact: &[u8], depth: usize, out: &mut Vec<u8>) {
    let mut depth = depth;
    // Bytes from `copied` to `index` are strings, numbers and literals, copied as they are when
    // the next punctuation mark is reached.
    let mut copied = 0;
    let mut index = 0;
    while let Some(&byte) = compact.get(index) {
        match byte {
            b'"' => {
                index = string_end(compact, index + 1);
                continue;
            }
            b'{' | b'[' | b'}' | b']' | b',' | b':' => {}
            _ => {
                index += 1;
                continue;
            }
        }
        out.extend_from_slice(compact.get(copied..index).unwrap_or_default());
        index += 1;
        match byte {
            b'{' | b'[' => {
                out.push(byte);
                let closing = if byte == b'{' { b'}' } else { b']' };
                if compact.get(index) == Some(&closing) {
                    out.push(closing);
                    index += 1;
                } else {
                    depth += 1;
                    new_line(out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                new_line(out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(b',');
                new_line(out, depth);
            }
            _ => out.extend_from_slice(b": "),
        }
        copied = index;
    }
    out.extend_from_slice(compact.get(copied..).unwrap_or_default());
}

/// Starts a new line at `depth`.
fn new_line(out: &mut Vec<u8>, depth: usize) {
    match NEW_LINE.get(..1 + 2 * depth) {
        Some(prefix) => out.extend_from_slice(prefix),
        None => {
            out.push(b'\n');
            for _ in 0..depth {
                out.extend_from_slice(b"  ");
            }
        }
    }
}

/// The index after the quote that closes a JSON string whose contents start at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut index = start;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'"' => return index + 1,
            b'\\' => index += 2, // a backslash and the character it escapes
            _ => index += 1,
        }
    }
    bytes.len()
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

    /// The JSON values whose text the writer must get right.
    fn awkward_values() -> Vec<Value> {
        vec![
            json!(null),
            json!(-0.0),
            json!([
                1e-7,
                1.5e300,
                -2,
                18446744073709551615_u64,
                -9223372036854775808_i64
            ]),
            json!("a \"quoted\" \\ string, with: [brackets] and {braces}"),
            json!("\u{1}\u{1f}\u{7f}\n\t\r\u{8}\u{c} ünï — ✓"),
            json!([]),
            json!({}),
            json!([[], {}, [[]], {"a": {}}]),
            json!({"b": [1, -2.5, true, null, "x"], "a": {"c": {"d": [{"e": "\u{1}"}]}}}),
            json!({"ünï": "cödé", "$param": "x", "": "", "k\"ey": 1}),
        ]
    }

    fn written(value: &Value, layout: Layout) -> String {
        let mut writer = JsonWriter::text(layout, 0);
        writer.value(value, 0);
        writer.finish()
    }

    #[test]
    fn the_writer_writes_what_serde_json_writes_compact_and_indented() {
        for value in awkward_values() {
            assert_eq!(
                written(&value, Layout::Compact),
                serde_json::to_string(&value).unwrap()
            );
            assert_eq!(
                written(&value, Layout::Indented),
                serde_json::to_string_pretty(&value).unwrap()
            );
        }
    }

    #[test]
    fn a_value_given_to_serde_json_is_indented_at_its_depth() {
        for value in awkward_values() {
            let nested = json!({"outer": [{"inner": value.clone()}]});
            let mut writer = JsonWriter::text(Layout::Indented, 0);
            writer.raw("{");
            writer.key(true, 1, "outer");
            writer.raw("[");
            writer.item(true, 2);
            writer.raw("{");
            writer.key(true, 3, "inner");
            writer.serialize(&value, 3);
            writer.close(false, 2, "}");
            writer.close(false, 1, "]");
            writer.close(false, 0, "}");
            assert_eq!(
                writer.finish(),
                serde_json::to_string_pretty(&nested).unwrap()
            );
        }
    }

    #[test]
    fn indentation_is_right_deeper_than_its_prepared_prefix() {
        let mut value = json!("leaf");
        for depth in 0..40 {
            value = json!({ format!("level{depth}"): [value] });
        }
        assert_eq!(
            written(&value, Layout::Indented),
            serde_json::to_string_pretty(&value).unwrap()
        );
        let mut indented = Vec::new();
        indent(
            serde_json::to_string(&value).unwrap().as_bytes(),
            0,
            &mut indented,
        );
        assert_eq!(
            String::from_utf8(indented).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn text_that_is_not_compact_json_is_indented_without_a_panic() {
        for text in [
            "",
            "\"",
            "\"\\",
            "}}]]",
            "{\"a\":\"é",
            "[,:,]",
            "é{é",
            "{\"\\\"",
        ] {
            let mut out = Vec::new();
            indent(text.as_bytes(), 0, &mut out);
        }
    }

    #[test]
    fn a_hashing_writer_hashes_the_compact_text_in_chunks() {
        let value = json!({"items": (0..20_000).map(|n| json!({"n": n})).collect::<Vec<_>>()});
        let mut hasher = blake3::Hasher::new();
        let mut writer = JsonWriter::hashing(&mut hasher);
        writer.raw("{");
        writer.key(true, 1, "items");
        writer.raw("[");
        for (index, item) in value["items"].as_array().unwrap().iter().enumerate() {
            writer.item(index == 0, 2);
            writer.value(item, 2);
            writer.flush_if_full();
        }
        writer.close(false, 1, "]");
        writer.close(false, 0, "}");
        assert_eq!(writer.finish(), "");
        assert_eq!(
            Fingerprint(*hasher.finalize().as_bytes()),
            Fingerprint::of_value(&value)
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
