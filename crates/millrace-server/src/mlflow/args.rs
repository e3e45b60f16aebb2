//! A request's arguments, read the way MLflow's server reads them: a GET's query parameters
//! (a repeated key is a list) or a POST's, PATCH's or DELETE's JSON body, as one JSON object.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The arguments of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Args(pub(crate) Map<String, Value>);

impl Args {
    /// From query pairs: a key given twice is a list.
    pub(crate) fn from_query(pairs: Vec<(String, String)>) -> Args {
        let mut map = Map::new();
        for (key, value) in pairs {
            match map.get_mut(&key) {
                Some(Value::Array(list)) => list.push(Value::String(value)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(value)]);
                }
                None => {
                    map.insert(key, Value::String(value));
                }
            }
        }
        Args(map)
    }

    /// From a JSON body; an empty body is `{}`.
    pub(crate) fn from_body(body: &[u8]) -> Result<Args, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Args::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Args(map)),
            Ok(_) => Err(ApiError::bad_request(
                "the request body is not a JSON object",
            )),
            Err(error) => Err(ApiError::bad_request(format!(
                "the request body is not JSON: {error}"
            ))),
        }
    }

    /// A string argument, if given (numbers are read as their text).
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Array(list) => list
                .first()
                .and_then(|first| first.as_str().map(str::to_owned)),
            _ => None,
        }
    }

    /// A required string argument.
    pub(crate) fn required(&self, key: &str) -> Result<String, ApiError> {
        self.text(key)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(format!("Missing value for required parameter '{key}'."))
            })
    }

    /// The run id: `run_id`, or the deprecated `run_uuid` the client also sends.
    pub(crate) fn run_id(&self) -> Result<String, ApiError> {
        self.text("run_id")
            .filter(|id| !id.is_empty())
            .or_else(|| self.text("run_uuid"))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ApiError::invalid("Missing value for required parameter 'run_id'."))
    }

    /// An integer argument (a JSON number or its text).
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => number
                .as_i64()
                .or_else(|| {
                    number
                        .as_f64()
                        .filter(|n| n.fract() == 0.0)
                        .map(|n| n as i64)
                })
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(format!("'{key}' must be an integer, not {number}"))
                }),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => text.parse().map(Some).map_err(|_| {
                ApiError::invalid(format!("'{key}' must be an integer, not '{text}'"))
            }),
            Some(other) => Err(ApiError::invalid(format!(
                "'{key}' must be an integer, not {other}"
            ))),
        }
    }

    /// A boolean argument.
    pub(crate) fn flag(&self, key: &str) -> bool {
        match self.0.get(key) {
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// A list of strings (a JSON array, or repeated query keys).
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| match item {
                    Value::String(text) => Some(text.clone()),
                    Value::Number(number) => Some(number.to_string()),
                    _ => None,
                })
                .collect(),
            Some(Value::String(text)) => vec![text.clone()],
            _ => Vec::new(),
        }
    }

    /// A list of `{"key", "value"}` objects.
    pub(crate) fn key_values(&self, key: &str) -> Result<Vec<(String, String)>, ApiError> {
        let Some(Value::Array(items)) = self.0.get(key) else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .map(|item| {
                let key = item.get("key").and_then(Value::as_str).ok_or_else(|| {
                    ApiError::invalid(format!("every entry of '{key}' needs a key"))
                })?;
                let value = match item.get("value") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                Ok((key.to_owned(), value))
            })
            .collect()
    }

    /// The raw value.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

/// A metric value as the client sends it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn metric_value(value: Option<&Value>) -> Result<f64, ApiError> {
    match value {
        Some(Value::Number(number)) => number
            .as_f64()
            .ok_or_else(|| ApiError::invalid(format!("metric value {number} is not a number"))),
        Some(Value::String(text)) => match text.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other
                .parse()
                .map_err(|_| ApiError::invalid(format!("metric value '{other}' is not a number"))),
        },
        _ => Err(ApiError::invalid(
            "Missing value for required parameter 'value'.",
        )),
    }
}

/// A page token: the offset, base64 of `{"offset": N}` as MLflow's server writes it.
pub(crate) fn page_offset(args: &Args) -> Result<u64, ApiError> {
    use base64::Engine;
    let Some(token) = args.text("page_token").filter(|token| !token.is_empty()) else {
        return Ok(0);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.as_bytes())
        .map_err(|_| ApiError::invalid(format!("invalid page token '{token}'")))?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|value| value.get("offset").and_then(Value::as_u64))
        .ok_or_else(|| ApiError::invalid(format!("invalid page token '{token}'")))
}

/// The token of the page at `offset`.
pub(crate) fn page_token(offset: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}
