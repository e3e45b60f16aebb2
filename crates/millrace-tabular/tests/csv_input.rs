//! Malformed and unusual CSV input: each gives the right result or an error naming the file,
//! the line and the column — never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use millrace_tabular::DataError;
use millrace_tabular::FeatureType;
use millrace_tabular::csv::CsvOptions;
use millrace_tabular::examples_format::read_split;
use millrace_tabular::ingest::{IngestReport, ingest_csv};
use millrace_tabular::split::SplitConfig;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write input");
    path
}

fn ingest(dir: &Path, input: &Path, options: &CsvOptions) -> Result<IngestReport, DataError> {
    ingest_csv(
        &[input.to_owned()],
        options,
        &SplitConfig::buckets(&[("all", 1)]),
        &dir.join("examples"),
        2,
    )
}

fn csv_error(error: DataError) -> (String, u64, String, String) {
    match error {
        DataError::Csv {
            file,
            line,
            column,
            message,
        } => (file, line, column, message),
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

#[test]
fn an_unterminated_quote_names_the_line_it_opened_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "open.csv", b"a,b\n1,2\n3,\"never closed\n4,5\n");
    let (file, line, column, message) =
        csv_error(ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err());
    assert!(file.ends_with("open.csv"));
    assert_eq!((line, column.as_str()), (3, "2 (`b`)"));
    assert!(message.contains("not closed"), "{message}");
}

#[test]
fn ragged_rows_name_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n");
    let error = ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err();
    assert!(error.to_string().contains("ragged.csv:3:"), "{error}");
    assert!(
        error
            .to_string()
            .contains("expected 3 fields, as in the header, found 2"),
        "{error}"
    );
    let input = write(dir.path(), "long.csv", b"a,b\n1,2\n3,4,5\n");
    let (_, line, _, message) =
        csv_error(ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err());
    assert_eq!(line, 3);
    assert!(message.contains("found 3"), "{message}");
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "latin1.csv", b"name,n\nok,1\ncaf\xe9,2\n");
    let (_, line, column, message) =
        csv_error(ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err());
    assert_eq!((line, column.as_str()), (3, "1 (`name`)"));
    assert!(message.contains("invalid UTF-8"), "{message}");
    let input = write(dir.path(), "header.csv", b"n\xff,m\n1,2\n");
    let error = ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err();
    assert!(
        error.to_string().contains("header.csv:1: column 1"),
        "{error}"
    );
}

#[test]
fn an_empty_file_is_refused_and_a_header_alone_gives_empty_splits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "empty.csv", b"");
    let error = ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err();
    assert!(matches!(error, DataError::File { .. }), "{error:?}");
    assert!(
        error.to_string().contains("empty.csv: the file is empty"),
        "{error}"
    );
    let input = write(dir.path(), "header_only.csv", b"a,b,c\n");
    let report =
        ingest(dir.path(), &input, &CsvOptions::default()).expect("a header alone is valid");
    assert_eq!(report.splits, vec![("all".to_owned(), 0)]);
    assert_eq!(report.columns.len(), 3);
    let batches = read_split(&dir.path().join("examples"), "all").expect("readable");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}

#[test]
fn quoted_fields_with_newlines_quotes_and_delimiters_are_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(
        dir.path(),
        "quoted.csv",
        b"id,comment,score\r\n1,\"two\r\nlines\",0.5\r\n2,\"a \"\"quote\"\", a comma\",\r\n3,,7\r\n",
    );
    let report = ingest(dir.path(), &input, &CsvOptions::default()).expect("valid CSV");
    assert_eq!(report.splits, vec![("all".to_owned(), 3)]);
    assert_eq!(
        report.columns,
        vec![
            ("id".to_owned(), FeatureType::Int),
            ("comment".to_owned(), FeatureType::String),
            ("score".to_owned(), FeatureType::Float),
        ]
    );
    let batches = read_split(&dir.path().join("examples"), "all").expect("readable");
    let batch =
        arrow_select::concat::concat_batches(&batches[0].schema(), &batches).expect("concat");
    let mut rows: Vec<(i64, Option<String>, Option<f64>)> = (0..batch.num_rows())
        .map(|row| {
            let comment = batch.column(1).as_string::<i32>();
            let score = batch.column(2).as_primitive::<Float64Type>();
            (
                batch.column(0).as_primitive::<Int64Type>().value(row),
                comment.is_valid(row).then(|| comment.value(row).to_owned()),
                score.is_valid(row).then(|| score.value(row)),
            )
        })
        .collect();
    rows.sort_by_key(|row| row.0);
    assert_eq!(
        rows,
        vec![
            (1, Some("two\r\nlines".to_owned()), Some(0.5)),
            (2, Some("a \"quote\", a comma".to_owned()), None),
            (3, None, Some(7.0)),
        ]
    );
}

#[test]
fn a_late_value_widens_its_column_and_a_declared_type_is_enforced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("n,label\n");
    for i in 0..50 {
        text.push_str(&format!("{i},x\n"));
    }
    text.push_str("2.5,y\n");
    let input = write(dir.path(), "late.csv", text.as_bytes());
    let options = CsvOptions {
        sample_rows: 10,
        ..CsvOptions::default()
    };
    let report = ingest(dir.path(), &input, &options).expect("widens");
    assert_eq!(report.columns[0], ("n".to_owned(), FeatureType::Float));
    assert_eq!(report.passes, 2);
    let mut declared = options;
    declared
        .column_types
        .insert("n".to_owned(), FeatureType::Int);
    let (_, line, column, message) = csv_error(ingest(dir.path(), &input, &declared).unwrap_err());
    assert_eq!((line, column.as_str()), (52, "1 (`n`)"));
    assert!(message.contains("`2.5` is not a valid int"), "{message}");
}

#[test]
fn stray_quotes_and_bad_headers_are_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "stray.csv", b"h,w\n1,5'10\"\n");
    let (_, line, _, message) =
        csv_error(ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err());
    assert_eq!(line, 2);
    assert!(message.contains("quote the whole field"), "{message}");
    let input = write(dir.path(), "twice.csv", b"a,b,a\n1,2,3\n");
    let error = ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err();
    assert!(
        error.to_string().contains("names column `a` twice"),
        "{error}"
    );
    let input = write(dir.path(), "blank.csv", b"a,,c\n1,2,3\n");
    let error = ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("column 2: the header has an empty column name"),
        "{error}"
    );
}

#[test]
fn many_chunks_keep_every_row_once_and_split_two_to_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("id,text\n");
    for i in 0..300_000 {
        text.push_str(&format!("{i},\"row {i}\nsecond line\"\n"));
    }
    let input = write(dir.path(), "big.csv", text.as_bytes());
    let report = ingest_csv(
        &[input],
        &CsvOptions::default(),
        &SplitConfig::default(),
        &dir.path().join("examples"),
        2,
    )
    .expect("ingests");
    let train = report.splits[0].1;
    let eval = report.splits[1].1;
    assert_eq!(train + eval, 300_000);
    let share = train as f64 / 300_000.0;
    assert!((share - 2.0 / 3.0).abs() < 0.01, "train share {share}");
    let mut ids: Vec<i64> = ["train", "eval"]
        .iter()
        .flat_map(|split| read_split(&dir.path().join("examples"), split).expect("readable"))
        .flat_map(|batch| {
            batch
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..300_000).collect::<Vec<i64>>());
}

/// Regression: a column empty in the sample and holding integers later is an int column (it was
/// read as float, the type an empty column defaults to, without a second pass).
#[test]
fn a_column_empty_in_the_sample_gets_the_type_of_its_later_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("id,tract,never\n");
    for i in 0..100 {
        text.push_str(&format!("{i},,\n"));
    }
    text.push_str("100,17031081401,\n");
    let input = write(dir.path(), "sparse.csv", text.as_bytes());
    let options = CsvOptions {
        sample_rows: 20,
        ..CsvOptions::default()
    };
    let report = ingest(dir.path(), &input, &options).expect("ingests");
    assert_eq!(
        report.columns,
        vec![
            ("id".to_owned(), FeatureType::Int),
            ("tract".to_owned(), FeatureType::Int),
            ("never".to_owned(), FeatureType::Float),
        ]
    );
    assert_eq!(report.passes, 2);
}

// Regressions found by the fuzzer (tests/csv_fuzz.rs); each input is in tests/corpus/csv too.

#[test]
fn blank_lines_before_the_header_are_skipped_however_many() {
    // Two blank lines made the file "empty": only the first was skipped.
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "blanks.csv", b"\n\r\n\nn\n1\n2\n");
    let report = ingest(dir.path(), &input, &CsvOptions::default()).expect("reads");
    assert_eq!(report.columns, vec![("n".to_owned(), FeatureType::Int)]);
    assert_eq!(report.splits, vec![("all".to_owned(), 2)]);
    let input = write(dir.path(), "late.csv", b"\n\nn\n1\n\"x\n");
    let (_, line, _, _) =
        csv_error(ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err());
    assert_eq!(line, 5, "lines count the blank lines");
}

#[test]
fn a_byte_order_mark_on_a_line_of_its_own_is_not_the_header() {
    // The mark's line was taken for a header of no columns; every row then had too many fields.
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "bom.csv", b"\xef\xbb\xbf\r\na,b\n1,2\n");
    let report = ingest(dir.path(), &input, &CsvOptions::default()).expect("reads");
    assert_eq!(report.columns.len(), 2);
    assert_eq!(report.splits, vec![("all".to_owned(), 1)]);
}

#[test]
fn a_blank_header_is_named_as_such_not_an_empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "spaces.csv", b"  \n1\n");
    let (_, line, column, message) =
        csv_error(ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err());
    assert_eq!((line, column.as_str()), (1, "1"));
    assert!(message.contains("empty column name"), "{message}");
}

#[test]
fn a_carriage_return_ending_the_file_ends_its_last_line() {
    // It was read as one more record, of one empty field.
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write(dir.path(), "cr.csv", b"a,b\n1,2\n\r");
    let report = ingest(dir.path(), &input, &CsvOptions::default()).expect("reads");
    assert_eq!(report.splits, vec![("all".to_owned(), 1)]);
}

#[test]
fn a_quote_left_open_in_the_header_stops_the_header_at_16_mib() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = b"\na,\"b\n".to_vec();
    text.resize(text.len() + (17 << 20), b'x');
    let input = write(dir.path(), "open_header.csv", &text);
    let (_, line, column, message) =
        csv_error(ingest(dir.path(), &input, &CsvOptions::default()).unwrap_err());
    assert_eq!((line, column.as_str()), (2, "1"));
    assert!(message.contains("longer than 16 MiB"), "{message}");
}
