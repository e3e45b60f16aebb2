//! Python literals for any value: how user-provided text enters a generated DAG file.
//!
//! Every string is written as a double-quoted Python literal with backslashes, quotes, control
//! characters and every non-ASCII character escaped, so the file is plain ASCII and no text of
//! the user's can end the literal, start a comment or change the indentation.
//!
//! ```
//! use millrace_airflow::python;
//!
//! assert_eq!(python::string("it's \"quoted\"\n"), r#""it's \"quoted\"\n""#);
//! assert_eq!(python::string("café"), r#""caf\xe9""#);
//! assert_eq!(python::value(&serde_json::json!({"a": [1, true, null]})), r#"{"a": [1, True, None]}"#);
//! ```

use std::fmt::Write as _;

/// A Python string literal holding exactly `text`.
pub fn string(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '"' => literal.push_str("\\\""),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\t' => literal.push_str("\\t"),
            ' '..='~' => literal.push(c),
            c if u32::from(c) <= 0xff => {
                let _ = write!(literal, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) <= 0xffff => {
                let _ = write!(literal, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(literal, "\\U{:08x}", u32::from(c));
            }
        }
    }
    literal.push('"');
    literal
}

/// A Python literal for a JSON value: `None`, `True`, `False`, numbers, strings, lists, dicts.
pub fn value(json: &serde_json::Value) -> String {
    match json {
        serde_json::Value::Null => "None".to_owned(),
        serde_json::Value::Bool(true) => "True".to_owned(),
        serde_json::Value::Bool(false) => "False".to_owned(),
        serde_json::Value::Number(number) => number.to_string(),
        serde_json::Value::String(text) => string(text),
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        serde_json::Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(key, item)| format!("{}: {}", string(key), value(item)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_is_escaped_into_ascii() {
        let hostile = "a'b\"c\\d\ne\r\t{{ run_id }}'''\u{7f}\u{1}é→😀";
        let literal = string(hostile);
        assert!(literal.is_ascii(), "{literal}");
        assert_eq!(
            literal,
            r#""a'b\"c\\d\ne\r\t{{ run_id }}'''\x7f\x01\xe9\u2192\U0001f600""#
        );
    }

    #[test]
    fn numbers_keep_their_json_form() {
        assert_eq!(value(&serde_json::json!(1.5e-7)), "1.5e-7");
        assert_eq!(value(&serde_json::json!(-3)), "-3");
    }
}
