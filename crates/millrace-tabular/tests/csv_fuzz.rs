//! The CSV reader under fuzzing, as CsvExampleGen and the statistics of a CSV file use it
//! ([`CsvFile::open`], then scans until the inferred types hold every value).
//!
//! * **Any bytes** are rows or an error naming the file, the line and the column (or, for a
//!   file with no header at all, the file) — never a panic, and never a hang: the scans that
//!   widen types end within [`MAX_PASSES`].
//! * **Well-formed CSV** — quoted fields with delimiters, doubled quotes, `\n` and `\r\n` inside,
//!   `\n` or `\r\n` between records, a byte-order mark or none, unicode, empty fields, a final
//!   line end or none, blank lines — parses into exactly the rows the `csv` crate reads.
//! * **Whenever the reader accepts a file, the `csv` crate reads the same rows from it.** The
//!   reader is stricter than the `csv` crate on purpose, so the converse does not hold: a quote
//!   inside an unquoted field or text after a closing quote is an error (RFC 4180; the rule that
//!   lets files be cut into chunks by quote parity, see `csv::chunks`), and so are a header
//!   with an empty or repeated column name and a record whose field count differs from the
//!   header's. One difference is left out of the comparison: a lone `\r` (not followed by
//!   `\n`) ends a record for the `csv` crate and is data for the reader, which documents `\n`
//!   and `\r\n` as the only record ends (classic Mac OS line ends are not a format anyone
//!   writes today, and a `\r` inside data should not silently split a row).
//!
//! Every file under `tests/corpus/csv/` goes through the same checks (`the_corpus_reads_…`):
//! the inputs that once broke the reader, and a few of each kind above. Run longer with
//! `PROPTEST_CASES=100000 cargo test -p millrace-tabular --test csv_fuzz` (docs/fuzzing.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use millrace_tabular::csv::chunks::ChunkReader;
use millrace_tabular::csv::parser::{Record, RecordParser};
use millrace_tabular::csv::{CsvFile, CsvOptions, ScanOutcome};
use millrace_tabular::{DataError, FeatureType};
use proptest::prelude::*;

/// How many scans a file may need: each scan that widens moves some column up int → float →
/// string (or from no value yet to a type), so three widening scans and a complete one suffice.
const MAX_PASSES: usize = 4;

/// What the reader made of a file: the header, and each row's fields as text (`None` for an
/// empty field).
#[derive(Debug, PartialEq)]
struct Table {
    names: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

/// Scans `file` until its types hold every value, as ingestion and statistics do.
fn scan_to_completion(file: &mut CsvFile) -> Result<usize, DataError> {
    for _ in 0..MAX_PASSES {
        let mut rows = 0;
        let outcome = file.scan(
            2,
            |chunk| Ok(chunk.batch.num_rows()),
            |count| {
                rows += count;
                Ok(())
            },
        )?;
        if outcome == ScanOutcome::Complete {
            return Ok(rows);
        }
    }
    panic!(
        "the types of {} did not settle in {MAX_PASSES} scans: a hang",
        file.path().display()
    );
}

/// Reads `path` with inferred types, then again with every column declared a string, which
/// gives the text of every field.
fn read_table(path: &Path) -> Result<Table, DataError> {
    let mut inferred = CsvFile::open(path, &CsvOptions::default())?;
    let inferred_rows = scan_to_completion(&mut inferred)?;
    let names = inferred.names().to_vec();
    let options = CsvOptions {
        column_types: names
            .iter()
            .map(|name| (name.clone(), FeatureType::String))
            .collect::<BTreeMap<_, _>>(),
        ..CsvOptions::default()
    };
    let mut text = CsvFile::open(path, &options)?;
    let mut rows = Vec::new();
    let outcome = text.scan(
        1,
        |chunk| Ok(chunk.batch),
        |batch| {
            for row in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .map(|column| {
                            let strings = column.as_string::<i32>();
                            (!strings.is_null(row)).then(|| strings.value(row).to_owned())
                        })
                        .collect(),
                );
            }
            Ok(())
        },
    )?;
    assert_eq!(
        outcome,
        ScanOutcome::Complete,
        "declared string columns never widen"
    );
    assert_eq!(rows.len(), inferred_rows, "both readings see the same rows");
    Ok(Table { names, rows })
}

/// The records the `csv` crate reads from `bytes` (header first), with its default settings:
/// `,` between fields, `"` quotes, equal field counts.
fn csv_crate_records(bytes: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, csv::Error> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .byte_records()
        .map(|record| record.map(|record| record.iter().map(<[u8]>::to_vec).collect()))
        .collect()
}

/// Whether `bytes` hold a `\r` that does not start a `\r\n`: the one input the comparison
/// leaves out (see the module documentation).
fn has_lone_carriage_return(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(at, &byte)| byte == b'\r' && bytes.get(at + 1) != Some(&b'\n'))
}

/// Whether `bytes` hold nothing but a byte-order mark and whitespace.
fn is_blank(bytes: &[u8]) -> bool {
    bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .all(u8::is_ascii_whitespace)
}

/// Checks that `error`, from reading `path` holding `bytes`, names the file, and a line and a
/// column that exist; only a file without a header may be refused as a whole.
fn check_error(error: &DataError, path: &Path, bytes: &[u8]) {
    let name = path.display().to_string();
    match error {
        DataError::Csv {
            file,
            line,
            column,
            message,
        } => {
            assert_eq!(file, &name, "{error}");
            let lines = bytes.iter().filter(|&&byte| byte == b'\n').count() as u64 + 1;
            assert!(
                (1..=lines).contains(line),
                "line {line} of a file of {lines} lines: {error}"
            );
            assert!(
                column.starts_with(|c: char| c.is_ascii_digit() && c != '0'),
                "{error}"
            );
            assert!(!message.is_empty(), "{error}");
        }
        DataError::File { file, message } => {
            assert_eq!(file, &name, "{error}");
            assert!(
                is_blank(bytes),
                "only a file without a header is refused whole: {error}"
            );
            assert!(message.contains("empty"), "{error}");
        }
        other => panic!("an error that names no place in {name}: {other:?}"),
    }
}

/// The whole check of one input: read it; an error must name its place; rows must be those the
/// `csv` crate reads. Returns what the reader made of it.
fn check_input(dir: &Path, bytes: &[u8]) -> Result<Table, DataError> {
    let path = dir.join("input.csv");
    std::fs::write(&path, bytes).unwrap();
    let read = read_table(&path);
    match &read {
        Err(error) => check_error(error, &path, bytes),
        Ok(table) if !has_lone_carriage_return(bytes) => {
            let records = csv_crate_records(bytes).unwrap_or_else(|error| {
                panic!("the reader accepted what the csv crate refuses ({error}): {table:?}")
            });
            let expected: Vec<Vec<u8>> = table.names.iter().map(|n| n.clone().into()).collect();
            assert_eq!(records.first(), Some(&expected), "the header");
            let rows: Vec<Vec<Vec<u8>>> = table
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|field| field.clone().unwrap_or_default().into_bytes())
                        .collect()
                })
                .collect();
            assert_eq!(rows, records[1..], "the rows");
        }
        Ok(_) => {}
    }
    read
}

/// Each record's line and fields, parsed chunk by chunk from chunks of about `chunk_size`
/// bytes; or the line and field of the first error.
type Parsed = Result<Vec<(u64, Vec<Vec<u8>>)>, (u64, usize)>;

fn parse_in_chunks(bytes: &[u8], chunk_size: usize) -> Parsed {
    let mut records = Vec::new();
    let mut record = Record::default();
    for chunk in ChunkReader::new(bytes, chunk_size, 1) {
        let chunk = chunk.unwrap();
        let mut parser = RecordParser::new(&chunk.bytes, chunk.first_line, b',');
        while parser
            .next_record(&mut record)
            .map_err(|error| (error.line, error.field))?
        {
            records.push((record.line(), record.fields().map(<[u8]>::to_vec).collect()));
        }
    }
    Ok(records)
}

/// Pieces that arbitrary CSV-like input is made of: the characters that matter to the parser,
/// and a few that matter to type inference and UTF-8 checks.
fn csv_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "a", "b", "1", "-2", "3.5", "1e3", "x y", ",", ",", "\"", "\"\"", "\n", "\n", "\r\n",
            "\r", " ", "é", "日本", "\u{FEFF}", "NaN", "99999999999999999999", "",
        ])
        .prop_map(|piece| piece.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..4),
    ]
}

/// One field's text: from the characters that need quoting and the ones that do not.
fn field_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "Z", "0", "7", "-1.5", " ", ",", "\"", "\n", "\r\n", "é", "日本", "😀",
            "\u{FEFF}", "\t", "NaN",
        ]),
        0..5,
    )
    .prop_map(|pieces| pieces.concat())
}

/// How a well-formed file is written.
#[derive(Debug, Clone)]
struct Layout {
    byte_order_mark: bool,
    /// Per record: quote every field even when it needs no quotes.
    quote_all: Vec<bool>,
    /// Per record: `\r\n` after it rather than `\n`.
    crlf: Vec<bool>,
    /// Per record: a blank line before it.
    blank_before: Vec<bool>,
    final_line_end: bool,
}

/// Writes `records` (the header first) as RFC 4180 CSV in `layout`.
fn write_csv(records: &[Vec<String>], layout: &Layout) -> Vec<u8> {
    let mut text = String::new();
    if layout.byte_order_mark {
        text.push('\u{FEFF}');
    }
    for (index, record) in records.iter().enumerate() {
        let line_end = if layout.crlf[index] { "\r\n" } else { "\n" };
        if layout.blank_before[index] {
            text.push_str(line_end);
        }
        let fields: Vec<String> = record
            .iter()
            .map(|field| {
                let needs_quotes = field.contains([',', '"', '\n', '\r'])
                    // A line holding one empty field would be a blank line, which has no record.
                    || (record.len() == 1 && field.is_empty());
                if needs_quotes || layout.quote_all[index] {
                    format!("\"{}\"", field.replace('"', "\"\""))
                } else {
                    field.clone()
                }
            })
            .collect();
        text.push_str(&fields.join(","));
        if index + 1 < records.len() || layout.final_line_end {
            text.push_str(line_end);
        }
    }
    text.into_bytes()
}

/// A header of distinct, non-empty names and rows of as many fields, with how to write them.
fn well_formed_table() -> impl Strategy<Value = (Vec<Vec<String>>, Layout)> {
    (1usize..5, 0usize..7)
        .prop_flat_map(|(columns, rows)| {
            let header = prop::collection::btree_set(
                // Not blank, and not starting with U+FEFF, which at the start of a file is
                // a byte-order mark to every reader.
                field_text().prop_filter("a column has a name", |name| {
                    !name.trim().is_empty() && !name.starts_with('\u{FEFF}')
                }),
                columns,
            )
            // A set's names come sorted; shuffle them into an order of their own.
            .prop_map(|names| names.into_iter().collect::<Vec<_>>())
            .prop_shuffle();
            let body = prop::collection::vec(prop::collection::vec(field_text(), columns), rows);
            let records = rows + 1;
            let layout = (
                any::<bool>(),
                prop::collection::vec(any::<bool>(), records),
                prop::collection::vec(any::<bool>(), records),
                prop::collection::vec(prop::bool::weighted(0.15), records),
                any::<bool>(),
            )
                .prop_map(
                    |(byte_order_mark, quote_all, crlf, blank_before, final_line_end)| Layout {
                        byte_order_mark,
                        quote_all,
                        crlf,
                        blank_before,
                        final_line_end,
                    },
                );
            (header, body, layout)
        })
        .prop_map(|(header, body, layout)| {
            let mut records = vec![header];
            records.extend(body);
            (records, layout)
        })
}

proptest! {
    #[test]
    fn any_bytes_are_rows_or_an_error_that_names_file_line_and_column(
        bytes in prop::collection::vec(any::<u8>(), 0..160)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let _ = check_input(dir.path(), &bytes);
    }

    #[test]
    fn csv_like_bytes_are_the_csv_crates_rows_or_an_error_that_names_its_place(
        pieces in prop::collection::vec(csv_piece(), 0..40)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let _ = check_input(dir.path(), &pieces.concat());
    }

    #[test]
    fn records_and_errors_are_the_same_whatever_the_chunks(
        pieces in prop::collection::vec(csv_piece(), 0..60),
        chunk_size in 1usize..48,
    ) {
        let bytes = pieces.concat();
        prop_assert_eq!(parse_in_chunks(&bytes, chunk_size), parse_in_chunks(&bytes, usize::MAX));
    }

    #[test]
    fn well_formed_csv_parses_into_the_rows_the_csv_crate_reads(
        (records, layout) in well_formed_table()
    ) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = write_csv(&records, &layout);
        let table = check_input(dir.path(), &bytes);
        let table = table.unwrap_or_else(|error| {
            panic!("well-formed CSV refused: {error}\n{:?}", String::from_utf8_lossy(&bytes))
        });
        prop_assert_eq!(&table.names, &records[0]);
        let empty_as_none: Vec<Vec<Option<String>>> = records[1..]
            .iter()
            .map(|row| row.iter().map(|f| (!f.is_empty()).then(|| f.clone())).collect())
            .collect();
        prop_assert_eq!(table.rows, empty_as_none);
    }
}

#[test]
fn the_corpus_reads_into_the_csv_crates_rows_or_errors_that_name_their_place() {
    let files = common::corpus("csv");
    assert!(files.len() >= 10, "the corpus is in tests/corpus/csv");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let read = check_input(dir.path(), &bytes);
        // A corpus file says what it should give: `ok-…` files are read, `error-…` refused.
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("ok-") {
            assert!(read.is_ok(), "{name}: {:?}", read.err());
        } else if name.starts_with("error-") {
            assert!(read.is_err(), "{name}: {read:?}");
        }
    }
}
