//! `f64` fields of the JSON documents (statistics, schemas) that may hold infinities or NaN: a
//! float column can hold `1e999` (read as +∞), and its mean, range and quantiles then do too.
//! JSON numbers cannot: `serde_json` writes them as `null` and cannot read that back as a
//! number, so a document profiled from such data could be written but not read.
//!
//! Finite values are written as JSON numbers, as before; the others as the strings the protobuf
//! JSON mapping uses, `"NaN"`, `"Infinity"` and `"-Infinity"`, which pandas, TFDV's JSON and
//! most JSON tools understand. Reading accepts those, numbers, and `null` as NaN (what documents
//! written before held). Use with `#[serde(with = "crate::json_float")]`, or the [`vec`] module
//! for `Vec<f64>` fields.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A float as a document holds it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Number(f64),
    Text(String),
    Null(()),
}

impl Written {
    fn value<E: serde::de::Error>(self) -> Result<f64, E> {
        match self {
            Written::Number(number) => Ok(number),
            Written::Null(()) => Ok(f64::NAN),
            Written::Text(text) => match text.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(E::custom(format!(
                    "`{text}` is not a number (nor NaN, Infinity or -Infinity)"
                ))),
            },
        }
    }
}

/// A float as a document writes it.
#[derive(Serialize)]
#[serde(untagged)]
enum Writing {
    Number(f64),
    Text(&'static str),
}

impl From<f64> for Writing {
    fn from(value: f64) -> Self {
        if value.is_nan() {
            Writing::Text("NaN")
        } else if value == f64::INFINITY {
            Writing::Text("Infinity")
        } else if value == f64::NEG_INFINITY {
            Writing::Text("-Infinity")
        } else {
            Writing::Number(value)
        }
    }
}

/// Writes `value`: a number, or its name when it is not finite.
pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    Writing::from(*value).serialize(serializer)
}

/// Reads a float written by [`serialize`] (or `null`, as NaN).
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Written::deserialize(deserializer)?.value()
}

/// `Vec<f64>` fields.
pub(crate) mod vec {
    use super::{Deserialize, Deserializer, Serializer, Writing, Written};
    use serde::ser::SerializeSeq;

    /// Writes each value as [`super::serialize`] does.
    pub(crate) fn serialize<S: Serializer>(
        values: &[f64],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(values.len()))?;
        for &value in values {
            sequence.serialize_element(&Writing::from(value))?;
        }
        sequence.end()
    }

    /// Reads values written by [`serialize`].
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<f64>, D::Error> {
        Vec::<Written>::deserialize(deserializer)?
            .into_iter()
            .map(Written::value)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct Floats {
        #[serde(with = "super")]
        one: f64,
        #[serde(with = "super::vec")]
        many: Vec<f64>,
    }

    #[test]
    fn non_finite_values_are_written_by_name_and_read_back() {
        let floats = Floats {
            one: f64::INFINITY,
            many: vec![1.5, f64::NEG_INFINITY, f64::NAN, -0.0],
        };
        let json = serde_json::to_string(&floats).unwrap();
        assert_eq!(
            json,
            r#"{"one":"Infinity","many":[1.5,"-Infinity","NaN",-0.0]}"#
        );
        let back: Floats = serde_json::from_str(&json).unwrap();
        assert_eq!(back.one, f64::INFINITY);
        assert_eq!(back.many[..2], [1.5, f64::NEG_INFINITY]);
        assert!(back.many[2].is_nan());
        assert!(back.many[3] == 0.0 && back.many[3].is_sign_negative());
    }

    #[test]
    fn null_reads_as_nan_and_other_text_is_refused() {
        let old: Floats = serde_json::from_str(r#"{"one":null,"many":[null]}"#).unwrap();
        assert!(old.one.is_nan() && old.many[0].is_nan());
        let error = serde_json::from_str::<Floats>(r#"{"one":"inf","many":[]}"#).unwrap_err();
        assert!(
            error.to_string().contains("`inf` is not a number"),
            "{error}"
        );
    }
}
