//! A strict RFC 4180 record parser over bytes.
//!
//! Fields are separated by a delimiter (`,` by default) and records by `\n` or `\r\n`. A field
//! that starts with `"` is quoted: it may hold delimiters, newlines and doubled quotes (`""`),
//! and must end with a quote followed by a delimiter or the end of the record. A quote inside an
//! unquoted field is an error rather than a guess: it is what makes the quote-parity rule of
//! [`super::chunks`] exact, so that files can be cut into chunks and parsed in parallel. Blank
//! lines (nothing between two line ends) are skipped, as pandas and the `csv` crate do; a line of
//! spaces is a record. A `\r` not followed by `\n` is data, except at the very end of the input.

use memchr::{memchr, memchr3};

use crate::hash::Fnv1a64;

/// The message of a quoted field whose closing quote never comes.
pub const UNCLOSED_QUOTE: &str = "a quoted field is not closed: the file ends inside it";

/// Where and why a record could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based physical line of the problem.
    pub line: u64,
    /// The 0-based field index.
    pub field: usize,
    /// What is wrong.
    pub message: String,
}

/// One record: its fields' bytes, unescaped, one after another.
///
/// A record is checked for UTF-8 once, as a whole, when it is complete; a valid one keeps its
/// bytes as a `String` (moved, not copied), so that text fields are sliced out of it without a
/// check per field.
#[derive(Debug, Default, Clone)]
pub struct Record {
    bytes: Vec<u8>,
    text: String,
    is_text: bool,
    /// Each field's start and end in the buffer.
    spans: Vec<(usize, usize)>,
    line: u64,
}

impl Record {
    /// How many fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the record has no field.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn range(&self, index: usize) -> std::ops::Range<usize> {
        let (start, end) = self.spans[index];
        start..end
    }

    /// The bytes of field `index`.
    pub fn field(&self, index: usize) -> &[u8] {
        let range = self.range(index);
        if self.is_text {
            &self.text.as_bytes()[range]
        } else {
            &self.bytes[range]
        }
    }

    /// The text of field `index`, or `None` when the record is not valid UTF-8 there.
    pub fn field_text(&self, index: usize) -> Option<&str> {
        if self.is_text {
            // Field boundaries are at ASCII delimiters, hence character boundaries.
            self.text.get(self.range(index))
        } else {
            std::str::from_utf8(&self.bytes[self.range(index)]).ok()
        }
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|index| self.field(index))
    }

    /// The 1-based physical line the record starts on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The hash of the record's fields, for hash-bucket splits: FNV-1a 64 over the fields, each
    /// followed by a 0xFF byte (which UTF-8 text never contains), so `a,bc` and `ab,c` differ.
    pub fn fingerprint(&self) -> u64 {
        let mut hasher = Fnv1a64::new();
        for field in self.fields() {
            hasher.update(field);
            hasher.update_byte(0xFF);
        }
        hasher.finish()
    }

    fn clear(&mut self, line: u64) {
        if self.is_text {
            self.bytes = std::mem::take(&mut self.text).into_bytes();
            self.is_text = false;
        }
        self.bytes.clear();
        self.spans.clear();
        self.line = line;
    }

    /// Checks the complete record for UTF-8 once.
    fn finish(&mut self) {
        match String::from_utf8(std::mem::take(&mut self.bytes)) {
            Ok(text) => {
                self.text = text;
                self.is_text = true;
            }
            Err(error) => self.bytes = error.into_bytes(),
        }
    }
}

/// Reads records one after another from a buffer that holds whole records.
#[derive(Debug)]
pub struct RecordParser<'a> {
    input: &'a [u8],
    position: usize,
    line: u64,
    delimiter: u8,
}

impl<'a> RecordParser<'a> {
    /// A parser over `input`, whose first byte is on physical line `first_line`.
    pub fn new(input: &'a [u8], first_line: u64, delimiter: u8) -> Self {
        RecordParser {
            input,
            position: 0,
            line: first_line,
            delimiter,
        }
    }

    /// The physical line the next record would start on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next record into `record`; `Ok(false)` at the end of the input.
    pub fn next_record(&mut self, record: &mut Record) -> Result<bool, ParseError> {
        // Blank lines carry no record.
        loop {
            match self.input.get(self.position) {
                None => return Ok(false),
                Some(b'\n') => {
                    self.position += 1;
                    self.line += 1;
                }
                Some(b'\r') if self.input.get(self.position + 1) == Some(&b'\n') => {
                    self.position += 2;
                    self.line += 1;
                }
                // A `\r` that ends the input ends its last line, as `\r\n` would.
                Some(b'\r') if self.position + 1 == self.input.len() => {
                    self.position += 1;
                }
                Some(_) => break,
            }
        }
        record.clear(self.line);
        // The common case: a line without quotes is split at its delimiters in one pass.
        let rest = &self.input[self.position..];
        let line_end = memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..line_end];
        if memchr(b'"', line).is_none() {
            let line = strip_cr(line);
            record.bytes.extend_from_slice(line);
            let mut start = 0;
            for delimiter in memchr::memchr_iter(self.delimiter, line) {
                record.spans.push((start, delimiter));
                start = delimiter + 1;
            }
            record.spans.push((start, line.len()));
            self.position += (line_end + 1).min(rest.len());
            self.line += 1;
            record.finish();
            return Ok(true);
        }
        loop {
            let start = record.bytes.len();
            let at_end_of_record = if self.input.get(self.position) == Some(&b'"') {
                self.quoted_field(record)?
            } else {
                self.unquoted_field(record)?
            };
            record.spans.push((start, record.bytes.len()));
            if at_end_of_record {
                record.finish();
                return Ok(true);
            }
        }
    }

    /// Reads an unquoted field up to a delimiter or the end of the record; whether the record ended.
    fn unquoted_field(&mut self, record: &mut Record) -> Result<bool, ParseError> {
        let rest = &self.input[self.position..];
        match memchr3(self.delimiter, b'\n', b'"', rest) {
            None => {
                record.bytes.extend_from_slice(strip_cr(rest));
                self.position = self.input.len();
                Ok(true)
            }
            Some(offset) => {
                let found = rest[offset];
                if found == b'"' {
                    return Err(ParseError {
                        line: self.line,
                        field: record.spans.len(),
                        message: "a quote inside an unquoted field; quote the whole field and \
                                  double the quotes inside it (RFC 4180)"
                            .to_owned(),
                    });
                }
                self.position += offset + 1;
                if found == b'\n' {
                    record.bytes.extend_from_slice(strip_cr(&rest[..offset]));
                    self.line += 1;
                    Ok(true)
                } else {
                    record.bytes.extend_from_slice(&rest[..offset]);
                    Ok(false)
                }
            }
        }
    }

    /// Reads a quoted field (the position is on its opening quote); whether the record ended.
    fn quoted_field(&mut self, record: &mut Record) -> Result<bool, ParseError> {
        let start_line = self.line;
        let field = record.spans.len();
        self.position += 1;
        loop {
            let rest = &self.input[self.position..];
            let Some(offset) = memchr(b'"', rest) else {
                return Err(ParseError {
                    line: start_line,
                    field,
                    message: UNCLOSED_QUOTE.to_owned(),
                });
            };
            record.bytes.extend_from_slice(&rest[..offset]);
            self.line += memchr::memchr_iter(b'\n', &rest[..offset]).count() as u64;
            self.position += offset + 1;
            match self.input.get(self.position) {
                Some(b'"') => {
                    record.bytes.push(b'"');
                    self.position += 1;
                }
                None => return Ok(true),
                Some(&byte) if byte == self.delimiter => {
                    self.position += 1;
                    return Ok(false);
                }
                Some(b'\n') => {
                    self.position += 1;
                    self.line += 1;
                    return Ok(true);
                }
                Some(b'\r') if self.input.get(self.position + 1) == Some(&b'\n') => {
                    self.position += 2;
                    self.line += 1;
                    return Ok(true);
                }
                Some(_) => {
                    return Err(ParseError {
                        line: self.line,
                        field,
                        message: "text after the closing quote of a quoted field".to_owned(),
                    });
                }
            }
        }
    }
}

fn strip_cr(field: &[u8]) -> &[u8] {
    field.strip_suffix(b"\r").unwrap_or(field)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<(u64, Vec<String>)>, ParseError> {
        let mut parser = RecordParser::new(text.as_bytes(), 1, b',');
        let mut record = Record::default();
        let mut records = Vec::new();
        while parser.next_record(&mut record)? {
            let fields = record
                .fields()
                .map(|field| String::from_utf8(field.to_vec()).unwrap())
                .collect();
            records.push((record.line(), fields));
        }
        Ok(records)
    }

    #[test]
    fn plain_records_with_both_line_endings_and_blank_lines() {
        let records = parse("a,b,c\r\n1,,3\n\n4,5,6").unwrap();
        assert_eq!(
            records,
            vec![
                (1, vec!["a".into(), "b".into(), "c".into()]),
                (2, vec!["1".into(), String::new(), "3".into()]),
                (4, vec!["4".into(), "5".into(), "6".into()]),
            ]
        );
    }

    #[test]
    fn quoted_fields_hold_delimiters_newlines_and_doubled_quotes() {
        let records =
            parse("x,y\n\"a,b\",\"line 1\nline 2\"\n\"say \"\"hi\"\"\",\"\"\nlast,1\n").unwrap();
        assert_eq!(records[1], (2, vec!["a,b".into(), "line 1\nline 2".into()]));
        assert_eq!(records[2], (4, vec!["say \"hi\"".into(), String::new()]));
        assert_eq!(records[3], (5, vec!["last".into(), "1".into()]));
    }

    #[test]
    fn an_unterminated_quote_names_the_line_where_it_opened() {
        let error = parse("a,b\n1,2\n3,\"open\nstill open\n").unwrap_err();
        assert_eq!((error.line, error.field), (3, 1));
        assert!(error.message.contains("not closed"), "{}", error.message);
    }

    #[test]
    fn stray_quotes_are_errors_with_their_place() {
        let error = parse("a,b\n1,5'10\"\n").unwrap_err();
        assert_eq!((error.line, error.field), (2, 1));
        let error = parse("a,b\n\"x\"y,1\n").unwrap_err();
        assert_eq!((error.line, error.field), (2, 0));
        assert!(error.message.contains("after the closing quote"));
    }

    #[test]
    fn fingerprints_separate_fields() {
        let first = parse("a,bc").unwrap();
        let second = parse("ab,c").unwrap();
        assert_ne!(first, second);
        let mut record = Record::default();
        RecordParser::new(b"a,bc", 1, b',')
            .next_record(&mut record)
            .unwrap();
        let one = record.fingerprint();
        RecordParser::new(b"ab,c", 1, b',')
            .next_record(&mut record)
            .unwrap();
        assert_ne!(one, record.fingerprint());
    }
}
