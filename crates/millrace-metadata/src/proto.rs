//! The two protocol-buffer messages ML-Metadata stores inside property values, encoded by hand:
//! `google.protobuf.Struct` (struct properties, stored as `mlmd-struct::` + base64) and
//! `google.protobuf.Any` (proto properties, stored as base64).

use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};

use crate::error::{MetadataError, Result};

/// The prefix ML-Metadata puts before a base64 `Struct` in a `string_value` column.
pub(crate) const STRUCT_PREFIX: &str = "mlmd-struct::";

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LENGTH_DELIMITED: u64 = 2;
const FIXED32: u64 = 5;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire_type: u64) {
    put_varint(out, (field << 3) | wire_type);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, LENGTH_DELIMITED);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn encode_value(value: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Json::Null => {
            put_key(&mut out, 1, VARINT);
            put_varint(&mut out, 0);
        }
        Json::Number(number) => {
            put_key(&mut out, 2, FIXED64);
            out.extend_from_slice(&number.as_f64().unwrap_or(0.0).to_le_bytes());
        }
        Json::String(text) => put_bytes(&mut out, 3, text.as_bytes()),
        Json::Bool(flag) => {
            put_key(&mut out, 4, VARINT);
            put_varint(&mut out, u64::from(*flag));
        }
        Json::Object(map) => put_bytes(&mut out, 5, &encode_struct(map)),
        Json::Array(items) => {
            let mut list = Vec::new();
            for item in items {
                put_bytes(&mut list, 1, &encode_value(item));
            }
            put_bytes(&mut out, 6, &list);
        }
    }
    out
}

/// A JSON object as a serialised `google.protobuf.Struct`.
pub(crate) fn encode_struct(map: &Map<String, Json>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in map {
        let mut entry = Vec::new();
        put_bytes(&mut entry, 1, key.as_bytes());
        put_bytes(&mut entry, 2, &encode_value(value));
        put_bytes(&mut out, 1, &entry);
    }
    out
}

/// A serialised `google.protobuf.Any`.
pub(crate) fn encode_any(type_url: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, type_url.as_bytes());
    put_bytes(&mut out, 2, value);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
}

fn malformed(what: &str) -> MetadataError {
    MetadataError::Database(format!("malformed protocol buffer in a stored {what}"))
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or_else(|| malformed("varint"))?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint"))
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < length {
            return Err(malformed("field"));
        }
        let (taken, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        Ok(taken)
    }

    /// The next field: its number, wire type, and payload (varints as their value's bytes).
    fn field(&mut self) -> Result<Option<(u64, Field<'a>)>> {
        if self.bytes.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            VARINT => Field::Varint(self.varint()?),
            FIXED64 => {
                let bytes = self.take(8)?;
                let mut array = [0u8; 8];
                array.copy_from_slice(bytes);
                Field::Fixed64(array)
            }
            LENGTH_DELIMITED => {
                let length = usize::try_from(self.varint()?).map_err(|_| malformed("length"))?;
                Field::Bytes(self.take(length)?)
            }
            FIXED32 => {
                self.take(4)?;
                Field::Skipped
            }
            _ => return Err(malformed("wire type")),
        };
        Ok(Some((key >> 3, field)))
    }
}

enum Field<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Skipped,
}

fn text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("string"))
}

fn decode_value(bytes: &[u8]) -> Result<Json> {
    let mut reader = Reader { bytes };
    let mut value = Json::Null;
    while let Some((number, field)) = reader.field()? {
        value = match (number, field) {
            (1, _) => Json::Null,
            (2, Field::Fixed64(raw)) => {
                let number = f64::from_le_bytes(raw);
                Number::from_f64(number).map_or(Json::Null, Json::Number)
            }
            (3, Field::Bytes(raw)) => Json::String(text(raw)?),
            (4, Field::Varint(flag)) => Json::Bool(flag != 0),
            (5, Field::Bytes(raw)) => Json::Object(decode_struct(raw)?),
            (6, Field::Bytes(raw)) => {
                let mut list = Reader { bytes: raw };
                let mut items = Vec::new();
                while let Some((number, field)) = list.field()? {
                    if let (1, Field::Bytes(item)) = (number, field) {
                        items.push(decode_value(item)?);
                    }
                }
                Json::Array(items)
            }
            _ => value,
        };
    }
    Ok(value)
}

/// A serialised `google.protobuf.Struct` as a JSON object.
pub(crate) fn decode_struct(bytes: &[u8]) -> Result<Map<String, Json>> {
    let mut reader = Reader { bytes };
    let mut map = Map::new();
    while let Some((number, field)) = reader.field()? {
        let (1, Field::Bytes(entry)) = (number, field) else {
            continue;
        };
        let mut entry = Reader { bytes: entry };
        let (mut key, mut value) = (String::new(), Json::Null);
        while let Some((number, field)) = entry.field()? {
            match (number, field) {
                (1, Field::Bytes(raw)) => key = text(raw)?,
                (2, Field::Bytes(raw)) => value = decode_value(raw)?,
                _ => {}
            }
        }
        map.insert(key, value);
    }
    Ok(map)
}

/// A serialised `google.protobuf.Any`: its type URL and value bytes.
pub(crate) fn decode_any(bytes: &[u8]) -> Result<(String, Vec<u8>)> {
    let mut reader = Reader { bytes };
    let (mut type_url, mut value) = (String::new(), Vec::new());
    while let Some((number, field)) = reader.field()? {
        match (number, field) {
            (1, Field::Bytes(raw)) => type_url = text(raw)?,
            (2, Field::Bytes(raw)) => value = raw.to_vec(),
            _ => {}
        }
    }
    Ok((type_url, value))
}

/// base64 as ML-Metadata writes it (standard alphabet, padded).
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The inverse of [`base64_encode`].
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| malformed("base64 value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structs_round_trip_through_the_wire_format() {
        let value = json!({"a": 1.5, "b": "text", "c": [true, null, {"d": -2.0}], "e": {}});
        let Json::Object(map) = value else {
            unreachable!()
        };
        assert_eq!(decode_struct(&encode_struct(&map)).unwrap(), map);
    }

    #[test]
    fn the_reference_row_decodes() {
        // `mlmd-struct::Cg4KAWsSCREAAAAAAADwPw==` as written by ml-metadata 1.17.1:
        // {"k": 1.0}.
        let bytes = base64_decode("Cg4KAWsSCREAAAAAAADwPw==").unwrap();
        assert_eq!(
            Json::Object(decode_struct(&bytes).unwrap()),
            json!({"k": 1.0})
        );
        let Json::Object(map) = json!({"k": 1.0}) else {
            unreachable!()
        };
        assert_eq!(
            base64_encode(&encode_struct(&map)),
            "Cg4KAWsSCREAAAAAAADwPw=="
        );
    }

    #[test]
    fn any_round_trips_and_garbage_is_an_error() {
        let encoded = encode_any("type.googleapis.com/google.protobuf.Value", b"\x1a\x01x");
        // The reference row: base64 of this Any.
        assert_eq!(
            base64_encode(&encoded),
            "Cil0eXBlLmdvb2dsZWFwaXMuY29tL2dvb2dsZS5wcm90b2J1Zi5WYWx1ZRIDGgF4"
        );
        let (type_url, value) = decode_any(&encoded).unwrap();
        assert_eq!(type_url, "type.googleapis.com/google.protobuf.Value");
        assert_eq!(value, b"\x1a\x01x");
        assert!(decode_struct(&[0x0a, 0xff]).is_err());
    }
}
