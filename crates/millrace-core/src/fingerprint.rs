//! Canonical JSON, the IR's JSON writer, and the pipeline fingerprint.
//!
//! The canonical form of a value writes no insignificant whitespace, sorts the keys of every
//! map and formats numbers the way `serde_json` does (shortest round-trip form for floats). For
//! a typed value such as a `PipelineSpec`, struct fields come in declaration order and maps
//! (B-tree maps and JSON objects) in sorted key order — so the form is identical in every
//! process and on every machine, whatever the key order of the JSON a spec was read from. The
//! fingerprint is the BLAKE3 hash of that text, streamed into the hasher without building it.
//!
//! `JsonWriter` writes a spec's JSON — compact, or indented as `serde_json::to_string_pretty`
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
/// fixed cost, and 64 KB is still in the cache.
const HASH_CHUNK: usize = 1 << 16;

/// `\n` and the indentation of 32 levels, two spaces each: a new line is a prefix of it.
const NEW_LINE: &str = "\n                                                                ";

/// What a [`JsonWriter`] does with its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Keeps it.
    Text,
    /// Keeps it and hashes it as it goes, each chunk while it is still in the cache.
    TextAndHash,
    /// Hashes it as it goes and keeps none.
    Hash,
}

/// Writes JSON text by hand, byte for byte as `serde_json` would write the same values (see
/// the module's documentation). The caller walks its values and says where members and
/// elements start and where containers close, with the depth of the line each is on — what
/// the indented layout needs, and the compact one ignores.
///
/// Valid only while `serde_json`'s maps iterate in sorted order ([`maps_iterate_sorted`]):
/// callers fall back to `serde_json` otherwise.
pub(crate) struct JsonWriter {
    out: String,
    layout: Layout,
    keep: Keep,
    hasher: blake3::Hasher,
    /// How much of `out` the hasher was given.
    hashed: usize,
    /// The compact text of a value given to `serde_json`.
    scratch: Vec<u8>,
    /// Whether a value could not be serialised, which leaves no text at all (as
    /// `serde_json::to_string(..).unwrap_or_default()` would).
    failed: bool,
}

impl JsonWriter {
    fn new(layout: Layout, keep: Keep, capacity: usize) -> Self {
        JsonWriter {
            out: String::with_capacity(capacity),
            layout,
            keep,
            hasher: blake3::Hasher::new(),
            hashed: 0,
            scratch: Vec::new(),
            failed: false,
        }
    }

    /// A writer whose text is kept, expected to take about `capacity` bytes.
    pub(crate) fn text(layout: Layout, capacity: usize) -> Self {
        JsonWriter::new(layout, Keep::Text, capacity)
    }

    /// A writer of compact text that is kept and hashed, expected to take about `capacity`
    /// bytes.
    pub(crate) fn hashed_text(capacity: usize) -> Self {
        JsonWriter::new(Layout::Compact, Keep::TextAndHash, capacity)
    }

    /// A writer of compact text that is hashed and not kept.
    pub(crate) fn hashing() -> Self {
        JsonWriter::new(Layout::Compact, Keep::Hash, HASH_CHUNK + HASH_CHUNK / 4)
    }

    /// Writes JSON text as it is: a bracket, a literal.
    #[inline]
    pub(crate) fn raw(&mut self, json: &str) {
        self.out.push_str(json);
    }

    /// Starts a new line at `depth`, in the indented layout.
    #[inline]
    fn new_line(&mut self, depth: usize) {
        new_line(&mut self.out, depth);
    }

    /// Starts an element of an array, or a member of an object before its key, on a line at
    /// `depth`: a comma unless it is the first.
    #[inline]
    pub(crate) fn item(&mut self, first: bool, depth: usize) {
        if !first {
            self.out.push(',');
        }
        if self.layout == Layout::Indented {
            self.new_line(depth);
        }
    }

    /// Ends a key.
    #[inline]
    pub(crate) fn colon(&mut self) {
        match self.layout {
            Layout::Compact => self.out.push(':'),
            Layout::Indented => self.out.push_str(": "),
        }
    }

    /// Starts a member of an object whose key needs no escape (a field name), on a line at
    /// `depth`.
    #[inline]
    pub(crate) fn key(&mut self, first: bool, depth: usize, key: &str) {
        self.item(first, depth);
        self.out.push('"');
        self.out.push_str(key);
        self.out.push('"');
        self.colon();
    }

    /// Closes an array or an object opened on a line at `depth`; `empty` if it has no
    /// elements or members (`[]`, `{}`).
    #[inline]
    pub(crate) fn close(&mut self, empty: bool, depth: usize, bracket: &str) {
        if !empty && self.layout == Layout::Indented {
            self.new_line(depth);
        }
        self.raw(bracket);
    }

    /// Writes a string, quoted and escaped as `serde_json` does.
    #[inline]
    pub(crate) fn string(&mut self, text: &str) {
        // serde_json escapes `"`, `\` and the control characters below U+0020, nothing else.
        let needs_escape = text
            .bytes()
            .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\');
        if needs_escape {
            self.serialize(text, 0);
        } else {
            self.out.reserve(text.len() + 2);
            self.out.push('"');
            self.out.push_str(text);
            self.out.push('"');
        }
    }

    /// Writes an unsigned integer.
    pub(crate) fn unsigned(&mut self, number: u64) {
        let mut digits = [b'0'; 20];
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
        // ASCII digits.
        self.out
            .push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
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
        self.scratch.clear();
        // Writing into a vector cannot fail, but a value can (a map whose keys are not
        // strings): then the whole text is empty. serde_json writes UTF-8.
        let written = serde_json::to_writer(&mut self.scratch, value);
        match (written, std::str::from_utf8(&self.scratch)) {
            (Ok(()), Ok(compact)) => match self.layout {
                Layout::Compact => self.out.push_str(compact),
                Layout::Indented => indent(compact, depth, &mut self.out),
            },
            _ => self.failed = true,
        }
    }

    /// Hands the text written since the last time to the hasher, if it is hashed and has
    /// grown by a chunk: call it between the parts there are many of.
    pub(crate) fn flush_if_full(&mut self) {
        if self.keep != Keep::Text && self.out.len() - self.hashed >= HASH_CHUNK {
            self.hash_rest();
        }
    }

    fn hash_rest(&mut self) {
        self.hasher
            .update(self.out.get(self.hashed..).unwrap_or_default().as_bytes());
        match self.keep {
            Keep::Hash => self.out.clear(),
            Keep::Text | Keep::TextAndHash => self.hashed = self.out.len(),
        }
    }

    /// The text written — nothing if a value could not be serialised, or if it was hashed and
    /// not kept — and its fingerprint (of nothing, if it was not hashed).
    pub(crate) fn finish(mut self) -> (String, Fingerprint) {
        if self.keep != Keep::Text {
            self.hash_rest();
        }
        let fingerprint = Fingerprint::of_hasher(&self.hasher);
        if self.failed || self.keep == Keep::Hash {
            return (String::new(), fingerprint);
        }
        // The capacity was a generous guess; giving the rest back shrinks in place.
        self.out.shrink_to_fit();
        (self.out, fingerprint)
    }
}

/// The indented form of a canonical JSON text — what `serde_json::to_string_pretty` writes for
/// the value whose `serde_json::to_string` form it is — or `None` when the canonical form is
/// not `serde_json`'s compact one (its maps do not iterate sorted; see [`canonical_json`]).
pub(crate) fn indented_json(canonical: &str) -> Option<String> {
    if !maps_iterate_sorted() {
        return None;
    }
    // Indentation about doubles a spec: one reservation instead of a dozen regrowths. Not
    // shrunk after: a text shrunk is freed smaller than the next one asks for, and glibc then
    // maps fresh pages for each (it maps a request above the largest block freed so far) —
    // 1,700 page faults a 10,000-node text.
    let mut out = String::with_capacity(canonical.len().saturating_mul(9) / 4);
    indent(canonical, 0, &mut out);
    Some(out)
}

/// Appends the indented form of `compact` — a compact JSON text as `serde_json::to_string`
/// writes it, for a value that starts on a line at `depth` — to `out`: what
/// `serde_json::to_string_pretty` writes, nested `depth` levels deep. Text that is not compact
/// JSON comes out rearranged, never with a panic.
///
/// One pass over the bytes: a string is skipped eight bytes at a time to its closing quote (its
/// escapes are already written), and at each punctuation mark the text since the last one is
/// copied and whitespace added. A text has about as many marks as it has strings, so most runs
/// are short: those are copied as a fixed 16 bytes and cut back, which costs less than a copy
/// of a length only known at run time.
fn indent(compact: &str, depth: usize, out: &mut String) {
    let bytes = compact.as_bytes();
    let mut depth = depth;
    // Bytes from `copied` to `index` are a string, a number or a literal, and the mark ending
    // it. A run starts and ends next to an ASCII byte or at an end, so slicing there stays on
    // character boundaries.
    let mut copied = 0;
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'"' => index = string_end(bytes, index + 1),
            b'{' | b'[' => {
                let closing = if byte == b'{' { b'}' } else { b']' };
                if bytes.get(index + 1) == Some(&closing) {
                    index += 2; // `{}` and `[]` stay as they are
                } else {
                    index += 1;
                    push_run(out, compact, copied, index);
                    copied = index;
                    depth += 1;
                    new_line(out, depth);
                }
            }
            b'}' | b']' => {
                // The bracket goes on a line of its own, with the run after it.
                push_run(out, compact, copied, index);
                copied = index;
                index += 1;
                depth = depth.saturating_sub(1);
                new_line(out, depth);
            }
            b',' => {
                index += 1;
                push_run(out, compact, copied, index);
                copied = index;
                new_line(out, depth);
            }
            b':' => {
                index += 1;
                push_run(out, compact, copied, index);
                copied = index;
                out.push(' ');
            }
            _ => index += 1,
        }
    }
    out.push_str(compact.get(copied..).unwrap_or_default());
}

/// Appends `text[start..end]`; a run of up to 16 bytes is copied as 16 and cut back (`end` is
/// a character boundary, so the cut is too).
#[inline]
fn push_run(out: &mut String, text: &str, start: usize, end: usize) {
    if end.saturating_sub(start) <= 16
        && let Some(chunk) = text.get(start..start + 16)
    {
        let keep = out.len() + (end - start);
        out.push_str(chunk);
        out.truncate(keep);
        return;
    }
    out.push_str(text.get(start..end).unwrap_or_default());
}

/// Starts a new line at `depth`.
#[inline]
fn new_line(out: &mut String, depth: usize) {
    if depth <= 15 {
        // A fixed 32 bytes, cut back, like `push_run`.
        let keep = out.len() + 1 + 2 * depth;
        out.push_str(NEW_LINE.get(..32).unwrap_or_default());
        out.truncate(keep);
        return;
    }
    match NEW_LINE.get(..1 + 2 * depth) {
        Some(prefix) => out.push_str(prefix),
        None => {
            out.push('\n');
            for _ in 0..depth {
                out.push_str("  ");
            }
        }
    }
}

/// The index after the quote that closes a JSON string whose contents start at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut index = start;
    loop {
        index = quote_or_backslash(bytes, index);
        match bytes.get(index) {
            Some(b'"') => return index + 1,
            Some(_) => index += 2, // a backslash and the character it escapes
            None => return bytes.len(),
        }
    }
}

/// The index of the first `"` or `\` at or after `start` (or the length), eight bytes at a
/// time: a byte of a word is one of the two when the word XOR that byte repeated has a zero
/// byte, which `(x - 0x01..01) & !x & 0x80..80` finds.
fn quote_or_backslash(bytes: &[u8], start: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut index = start;
    while let Some(word) = bytes
        .get(index..index + 8)
        .and_then(|chunk| <[u8; 8]>::try_from(chunk).ok())
    {
        let word = u64::from_le_bytes(word);
        let quotes = word ^ (ONES * u64::from(b'"'));
        let backslashes = word ^ (ONES * u64::from(b'\\'));
        let found = ((quotes.wrapping_sub(ONES) & !quotes)
            | (backslashes.wrapping_sub(ONES) & !backslashes))
            & HIGHS;
        if found != 0 {
            // The lowest flagged byte is the first match; a borrow only carries into a byte
            // above a match.
            return index + (found.trailing_zeros() / 8) as usize;
        }
        index += 8;
    }
    while let Some(&byte) = bytes.get(index) {
        if byte == b'"' || byte == b'\\' {
            return index;
        }
        index += 1;
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
        writer.finish().0
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
                writer.finish().0,
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
        assert_eq!(
            indented_json(&serde_json::to_string(&value).unwrap()).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn a_string_ends_at_its_first_unescaped_quote_wherever_it_falls_in_a_word() {
        for length in 0..24 {
            for escape in 0..=length {
                let mut contents = "é".repeat(length / 3) + &"x".repeat(length - length / 3);
                if escape < contents.len() && contents.is_char_boundary(escape) {
                    contents.insert_str(escape, "\\\"\\\\");
                }
                let text = format!("\"{contents}\",\"next\"");
                let end = string_end(text.as_bytes(), 1);
                assert_eq!(&text[..end], format!("\"{contents}\""), "{text}");
            }
        }
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            "[\"\\\\{}\\[\\]:, \u{0}-\u{1f}é]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z\"\\\\:,{}]{0,6}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_value_is_written_and_indented_as_serde_json_does(value in any_json()) {
            let compact = serde_json::to_string(&value).unwrap();
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            proptest::prop_assert_eq!(&written(&value, Layout::Compact), &compact);
            proptest::prop_assert_eq!(&written(&value, Layout::Indented), &pretty);
            proptest::prop_assert_eq!(indented_json(&compact).unwrap(), pretty);
        }

        #[test]
        fn any_text_is_indented_without_a_panic(text in "\\PC{0,64}") {
            let mut out = String::new();
            indent(&text, 0, &mut out);
        }
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
            let mut out = String::new();
            indent(text, 0, &mut out);
        }
    }

    /// Writes `{"items":[...]}` as a spec writes its nodes, chunk by chunk.
    fn write_items(writer: &mut JsonWriter, items: &[Value]) {
        writer.raw("{");
        writer.key(true, 1, "items");
        writer.raw("[");
        for (index, item) in items.iter().enumerate() {
            writer.item(index == 0, 2);
            writer.value(item, 2);
            writer.flush_if_full();
        }
        writer.close(items.is_empty(), 1, "]");
        writer.close(false, 0, "}");
    }

    #[test]
    fn a_hashing_writer_hashes_the_compact_text_in_chunks() {
        let items: Vec<Value> = (0..20_000).map(|n| json!({"n": n, "x": "y"})).collect();
        let value = json!({ "items": items });
        let mut hashing = JsonWriter::hashing();
        write_items(&mut hashing, &items);
        let (nothing, fingerprint) = hashing.finish();
        assert_eq!(nothing, "");
        assert_eq!(fingerprint, Fingerprint::of_value(&value));
        let mut kept = JsonWriter::hashed_text(0);
        write_items(&mut kept, &items);
        let (text, fingerprint) = kept.finish();
        assert_eq!(text, serde_json::to_string(&value).unwrap());
        assert_eq!(fingerprint, Fingerprint::of_value(&value));
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
