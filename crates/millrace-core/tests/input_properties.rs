//! What a user or another program hands the core, under fuzzing: the IR's JSON (any bytes, and
//! the representative pipeline's JSON damaged), command placeholders and `--param` values. Each
//! is read or refused with a clear error — never a panic, never a hang — and what is read stays
//! what it was when written again (a spec read back has the same canonical JSON and fingerprint,
//! so reloading a compiled pipeline never invalidates its cache).
//!
//! The IR seeds are the files under `tests/corpus/ir/`. Run longer with
//! `PROPTEST_CASES=20000 cargo test -p millrace-core --test input_properties`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::path::{Path, PathBuf};

use millrace_core::Error;
use millrace_core::prelude::Pipeline;
use millrace_core::spec::command::{CommandSpec, Placeholder, PlaceholderError};
use millrace_core::spec::{ParameterType, PipelineSpec};
use proptest::prelude::*;

/// The IR corpus: valid specs of every kind the IR holds.
fn corpus() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/ir");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus is in {}", dir.display());
    files
}

/// Reads `json` as a spec and as a pipeline. A spec read must come back the same from its own
/// JSON, canonical and indented; an error must say where.
fn read_ir(json: &str) -> Result<(), TestCaseError> {
    match PipelineSpec::from_json(json) {
        Ok(spec) => {
            let canonical = spec.canonical_json();
            let again = PipelineSpec::from_json(&canonical)
                .map_err(|error| TestCaseError::fail(format!("its own JSON: {error}")))?;
            prop_assert_eq!(&again.canonical_json(), &canonical);
            prop_assert_eq!(again.fingerprint(), spec.fingerprint());
            let indented = PipelineSpec::from_json(&spec.to_json())
                .map_err(|error| TestCaseError::fail(format!("its indented JSON: {error}")))?;
            prop_assert_eq!(indented.fingerprint(), spec.fingerprint());
            // Validation of whatever was read lists problems; it never panics.
            match Pipeline::from_spec(spec) {
                Ok(pipeline) => prop_assert_eq!(pipeline.fingerprint(), again.fingerprint()),
                Err(Error::InvalidPipeline { issues, .. }) => prop_assert!(!issues.is_empty()),
                Err(other) => prop_assert!(false, "an unexpected error: {other}"),
            }
        }
        Err(Error::SpecJson {
            line,
            column,
            message,
        }) => {
            prop_assert!(!message.is_empty());
            prop_assert!(
                line <= json.lines().count() + 1,
                "line {line} is past the end"
            );
            prop_assert!(line > 0 || column == 0 || json.is_empty());
        }
        Err(other) => prop_assert!(false, "an unexpected error: {other}"),
    }
    Ok(())
}

/// A kind of damage to a JSON text.
#[derive(Debug, Clone)]
enum Damage {
    /// Keep only the first bytes.
    CutAt(prop::sample::Index),
    /// Remove a stretch.
    Remove(prop::sample::Index, usize),
    /// Insert a token at a place.
    Insert(prop::sample::Index, &'static str),
    /// Copy a stretch to another place.
    Duplicate(prop::sample::Index, usize, prop::sample::Index),
}

/// Tokens that change the JSON's shape or values: other types, numbers at the edges of what
/// the IR holds, escapes, deep nesting.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "null",
    "true",
    "-0",
    "1e999",
    "-1e-999",
    "18446744073709551616",
    "-9223372036854775809",
    "0.30000000000000004",
    "4.9406564584124654e-324",
    "\\u0000",
    "\\ud800",
    "\u{feff}",
    "\"$param\"",
    "{\"$param\":\"seed\"}",
    "\"id\":\"x\"",
    "\"nodes\":[]",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
];

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::CutAt),
        (any::<prop::sample::Index>(), 1..64usize).prop_map(|(at, n)| Damage::Remove(at, n)),
        (any::<prop::sample::Index>(), prop::sample::select(TOKENS))
            .prop_map(|(at, token)| Damage::Insert(at, token)),
        (
            any::<prop::sample::Index>(),
            1..200usize,
            any::<prop::sample::Index>()
        )
            .prop_map(|(from, n, to)| Damage::Duplicate(from, n, to)),
    ]
}

/// The nearest character boundary at or before `at`.
fn boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|&index| text.is_char_boundary(index))
        .unwrap_or(0)
}

fn damaged(text: &str, damage: &Damage) -> String {
    let at = |index: &prop::sample::Index| boundary(text, index.index(text.len() + 1));
    match damage {
        Damage::CutAt(index) => text[..at(index)].to_owned(),
        Damage::Remove(index, length) => {
            let start = at(index);
            let end = boundary(text, start + length);
            format!("{}{}", &text[..start], &text[end..])
        }
        Damage::Insert(index, token) => {
            let place = at(index);
            format!("{}{token}{}", &text[..place], &text[place..])
        }
        Damage::Duplicate(from, length, to) => {
            let start = at(from);
            let end = boundary(text, start + length);
            let place = at(to);
            format!("{}{}{}", &text[..place], &text[start..end], &text[place..])
        }
    }
}

proptest! {
    // PROPTEST_CASES, when set, runs longer (or shorter).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn any_bytes_are_a_spec_or_an_error_with_a_line_and_column(
        bytes in prop::collection::vec(any::<u8>(), 0..256)
    ) {
        read_ir(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn a_damaged_ir_is_read_the_same_twice_or_refused_with_where(
        seed in any::<prop::sample::Index>(),
        damages in prop::collection::vec(damage(), 1..4),
    ) {
        let files = corpus();
        let (_, text) = &files[seed.index(files.len())];
        let mut json = text.clone();
        for damage in &damages {
            json = damaged(&json, damage);
        }
        read_ir(&json)?;
    }

    #[test]
    fn any_text_has_placeholders_or_a_clear_error(
        pieces in prop::collection::vec(prop_oneof![
            Just("{{".to_owned()),
            Just("}}".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(".".to_owned()),
            Just(" ".to_owned()),
            prop::sample::select(vec![
                "inputs", "outputs", "parameters", "properties", "uri", "run_id", "node_id",
                "pipeline", "executor_output",
            ]).prop_map(str::to_owned),
            "\\PC{0,6}",
        ], 0..16)
    ) {
        let text: String = pieces.concat();
        let command = CommandSpec::new(["run"]).args([text.as_str()]);
        match command.placeholders() {
            Ok(found) => {
                // Each placeholder written back reads as itself.
                for placeholder in &found {
                    let written = placeholder.to_string();
                    let inner = &written[2..written.len() - 2];
                    prop_assert_eq!(&inner.parse::<Placeholder>().unwrap(), placeholder);
                }
                // Each placeholder replaced by its own text has the same placeholders.
                let rewritten = command.expand(|placeholder| Some(placeholder.to_string())).unwrap();
                prop_assert_eq!(&rewritten.placeholders().unwrap(), &found);
                // A value is put in as it is: an unterminated `{{` in it is never read.
                let expanded = command.expand(|_| Some("{{".to_owned())).unwrap();
                // Text without a placeholder is left exactly as it was.
                if found.is_empty() {
                    prop_assert_eq!(&expanded.args[0], &text);
                }
            }
            Err(PlaceholderError::Unknown(inner)) => prop_assert!(text.contains(&inner)),
            Err(PlaceholderError::Unterminated(whole)) => {
                prop_assert!(text.contains("{{"));
                prop_assert!(whole.contains("{{"));
            }
            Err(other) => prop_assert!(false, "an unexpected error: {other}"),
        }
    }

    #[test]
    fn any_param_text_is_a_value_of_its_type_or_an_error_that_quotes_it(
        text in prop_oneof![
            "\\PC{0,24}",
            "[ ]?-?[0-9]{0,20}(\\.[0-9]{0,4})?(e-?[0-9]{1,3})?[ ]?",
            "\\[[0-9, \"a]{0,12}\\]",
            "\\{[\"a:0-9, ]{0,12}\\}",
            Just("NaN".to_owned()),
            Just("inf".to_owned()),
            Just("-inf".to_owned()),
            Just("9007199254740993.0".to_owned()),
            Just("1e3".to_owned()),
        ],
        parameter_type in prop::sample::select(vec![
            ParameterType::Int, ParameterType::Double, ParameterType::String,
            ParameterType::Bool, ParameterType::List, ParameterType::Struct,
        ]),
    ) {
        match parameter_type.parse(&text) {
            Ok(value) => {
                prop_assert!(parameter_type.accepts(&value), "{value} is not a {parameter_type}");
                if let Some(number) = value.as_f64() {
                    prop_assert!(number.is_finite());
                }
            }
            Err(message) => {
                prop_assert!(message.contains(&text));
                prop_assert!(message.contains(&parameter_type.to_string()));
            }
        }
    }

    #[test]
    fn every_int_written_as_a_double_reads_back_as_itself(
        int in any::<i64>(),
        zeros in 0..4usize,
        shift in 0..4u32,
    ) {
        let fraction = "0".repeat(zeros);
        let written = format!("{int}.{fraction}");
        prop_assert_eq!(ParameterType::Int.parse(&written).unwrap().as_i64(), Some(int));
        // The same digits with the point moved left and an exponent moving it back.
        let digits = int.unsigned_abs().to_string();
        let point = digits.len().saturating_sub(shift as usize).max(1);
        let moved = format!(
            "{}{}.{}e{}",
            if int < 0 { "-" } else { "" },
            &digits[..point],
            &digits[point..],
            digits.len() - point
        );
        prop_assert_eq!(ParameterType::Int.parse(&moved).unwrap().as_i64(), Some(int));
    }

    #[test]
    fn every_int_and_finite_double_reads_back_as_itself(int in any::<i64>(), double in any::<f64>()) {
        prop_assert_eq!(ParameterType::Int.parse(&int.to_string()).unwrap().as_i64(), Some(int));
        let read = ParameterType::Double.parse(&double.to_string());
        if double.is_finite() {
            prop_assert_eq!(read.unwrap().as_f64(), Some(double));
        } else {
            prop_assert!(read.is_err());
        }
    }
}

#[test]
fn every_file_of_the_ir_corpus_reads_back_as_itself() {
    for (path, text) in corpus() {
        let spec = PipelineSpec::from_json(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(
            PipelineSpec::from_json(&spec.to_json()).unwrap(),
            spec,
            "{}",
            path.display()
        );
    }
}

#[test]
fn a_configuration_nested_a_hundred_thousand_deep_is_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let json = format!(
        r#"{{"schema_version":"millrace.pipeline/v1","name":"deep","nodes":[{{"id":"a","task":{{"type":"component","kind":"k","version":1,"config":{}{}}}}}]}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    match PipelineSpec::from_json(&json) {
        Err(Error::SpecJson { message, .. }) => {
            assert!(message.contains("recursion limit"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_number_written_as_a_double_is_an_int_only_where_its_text_is_exactly_a_whole_number() {
    let int = |text: &str| {
        ParameterType::Int
            .parse(text)
            .ok()
            .and_then(|value| value.as_i64())
    };
    assert_eq!(int("1e3"), Some(1000));
    assert_eq!(int("12.0"), Some(12));
    assert_eq!(int("-1.5E1"), Some(-15));
    assert_eq!(int("9007199254740993.0"), Some(9_007_199_254_740_993));
    assert_eq!(int("-9223372036854775808.000"), Some(i64::MIN));
    assert_eq!(int("12.5"), None);
    // Through a double, this would round to 9007199254740991, a whole number.
    assert_eq!(int("9007199254740990.6"), None);
    assert_eq!(int("9223372036854775808.0"), None);
    assert_eq!(int("1e300"), None);
    assert_eq!(int("1e-3"), None);
}

#[test]
fn a_number_read_from_the_ir_keeps_its_fingerprint_when_written_and_read_again() {
    // Found by the damaged-IR target: without a correctly rounded parser, this number read as
    // 1.1844674407370957e20, was written as such, and read back as 1.1844674407370955e20 —
    // a compiled pipeline reloaded would have had another fingerprint.
    let json = include_str!("corpus/ir/representative.json")
        .replace("[true,1.5,", "[true,118446744073709551616.5,");
    let spec = PipelineSpec::from_json(&json).unwrap();
    let again = PipelineSpec::from_json(&spec.canonical_json()).unwrap();
    assert_eq!(again.canonical_json(), spec.canonical_json());
    assert_eq!(again.fingerprint(), spec.fingerprint());
}
