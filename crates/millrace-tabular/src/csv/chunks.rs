//! Cutting a CSV stream into chunks of whole records, so that chunks can be parsed in parallel
//! with memory bounded by the chunk size.
//!
//! Under the strict quoting of [`super::parser`], a quote opens or closes a quoted field or is
//! one of a doubled pair, so a newline ends a record exactly when the number of quotes before
//! it (since the last record boundary) is even. Each chunk ends at the last such newline of the
//! block read.
//!
//! A record may span many blocks (a quoted field with newlines), but not without bound: a quote
//! left open would otherwise make the rest of the file one record, read into memory. Once a
//! chunk holds [`MAX_RECORD_SIZE`] bytes past its target size without a record boundary, the
//! reader hands it on [cut short](Chunk::cut_short) and stops; parsing it reports the open
//! quote with its line.

use std::io::Read;

use memchr::memchr2_iter;

/// Whole records from a CSV stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The chunk's position in the stream, from 0.
    pub index: usize,
    /// The physical line its first byte is on (1-based).
    pub first_line: u64,
    /// The bytes: whole records (the last chunk may lack a final newline).
    pub bytes: Vec<u8>,
    /// Whether the chunk ends inside a record longer than [`MAX_RECORD_SIZE`], after which
    /// the stream was not read.
    pub cut_short: bool,
}

/// Reads a stream chunk by chunk.
#[derive(Debug)]
pub struct ChunkReader<R> {
    reader: R,
    target_size: usize,
    max_record_size: usize,
    carry: Vec<u8>,
    next_index: usize,
    next_line: u64,
    finished: bool,
}

/// The default chunk size: large enough to amortise hand-offs between threads, small enough
/// that a few chunks in flight per thread stay far below any memory bound.
pub const DEFAULT_CHUNK_SIZE: usize = 4 << 20;

/// How far past its target size a chunk grows looking for the end of a record before it is
/// handed on cut short.
pub const MAX_RECORD_SIZE: usize = 64 << 20;

impl<R: Read> ChunkReader<R> {
    /// Chunks of about `target_size` bytes of `reader`, whose first byte is on line `first_line`.
    pub fn new(reader: R, target_size: usize, first_line: u64) -> Self {
        ChunkReader {
            reader,
            target_size: target_size.max(1),
            max_record_size: MAX_RECORD_SIZE,
            carry: Vec::new(),
            next_index: 0,
            next_line: first_line,
            finished: false,
        }
    }

    /// The same reader with another bound on how far past its target size a chunk grows
    /// looking for the end of a record (see [`MAX_RECORD_SIZE`]).
    #[must_use]
    pub fn with_max_record_size(mut self, max_record_size: usize) -> Self {
        self.max_record_size = max_record_size;
        self
    }

    /// The next chunk, or `None` at the end of the stream.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        if self.finished {
            return Ok(None);
        }
        let mut bytes = std::mem::take(&mut self.carry);
        let mut scanned = 0;
        let mut quotes_even = true;
        let mut cut_short = false;
        loop {
            let wanted = (bytes.len().max(self.target_size))
                .saturating_sub(bytes.len())
                .max(1 << 16);
            let read = (&mut self.reader)
                .take(wanted as u64)
                .read_to_end(&mut bytes)?;
            if read == 0 {
                self.finished = true;
                break;
            }
            if let Some(boundary) = last_record_boundary(&bytes[scanned..], &mut quotes_even) {
                let cut = scanned + boundary + 1;
                if bytes.len() >= self.target_size || cut == bytes.len() && read < wanted {
                    self.carry = bytes.split_off(cut);
                    break;
                }
                // Keep reading until the chunk is big enough; the parity carries on from the cut.
            }
            scanned = bytes.len();
            if bytes.len() >= self.target_size.saturating_add(self.max_record_size) {
                self.finished = true;
                cut_short = true;
                break;
            }
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        let chunk = Chunk {
            index: self.next_index,
            first_line: self.next_line,
            bytes,
            cut_short,
        };
        self.next_index += 1;
        self.next_line += memchr::memchr_iter(b'\n', &chunk.bytes).count() as u64;
        Ok(Some(chunk))
    }
}

impl<R: Read> Iterator for ChunkReader<R> {
    type Item = std::io::Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk().transpose()
    }
}

/// The offset of the last newline of `bytes` that ends a record, given and updating the quote
/// parity at the start of `bytes`.
fn last_record_boundary(bytes: &[u8], quotes_even: &mut bool) -> Option<usize> {
    // Most blocks hold no quote at all: their last newline ends a record when the parity at
    // their start is even.
    if memchr::memchr(b'"', bytes).is_none() {
        return if *quotes_even {
            memchr::memrchr(b'\n', bytes)
        } else {
            None
        };
    }
    let mut last = None;
    for offset in memchr2_iter(b'"', b'\n', bytes) {
        if bytes[offset] == b'"' {
            *quotes_even = !*quotes_even;
        } else if *quotes_even {
            last = Some(offset);
        }
    }
    last
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunks(text: &str, size: usize) -> Vec<Chunk> {
        ChunkReader::new(text.as_bytes(), size, 1)
            .collect::<std::io::Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn chunks_end_on_record_boundaries_outside_quotes() {
        let text = "a,b\n\"x\ny\",1\n2,3\n";
        for size in 1..text.len() + 2 {
            let pieces = chunks(text, size);
            let joined: Vec<u8> = pieces.iter().flat_map(|c| c.bytes.clone()).collect();
            assert_eq!(joined, text.as_bytes());
            for piece in &pieces {
                assert!(
                    !piece.bytes.ends_with(b"\"x\n"),
                    "cut inside a quoted field"
                );
            }
        }
    }

    #[test]
    fn an_open_quote_cuts_the_chunk_short_instead_of_reading_the_whole_file() {
        let mut text = b"a,b\n1,\"never closed\n".to_vec();
        for _ in 0..100_000 {
            text.extend_from_slice(b"x,y\n");
        }
        let mut reader = ChunkReader::new(text.as_slice(), 8, 1).with_max_record_size(1024);
        let header = reader.next_chunk().unwrap().unwrap();
        assert_eq!(
            (header.bytes.as_slice(), header.cut_short),
            (&b"a,b\n"[..], false)
        );
        let chunk = reader.next_chunk().unwrap().unwrap();
        assert!(chunk.cut_short);
        // Reads are of 64 KiB at least: the chunk stops after a couple of them.
        assert!(chunk.bytes.len() <= 2 << 16, "{} bytes", chunk.bytes.len());
        assert!(chunk.bytes.starts_with(b"1,\"never closed\n"));
        assert_eq!(reader.next_chunk().unwrap(), None);
        // Balanced quotes are never cut short, however long the file.
        let whole: Vec<Chunk> = ChunkReader::new(&text[20..], 8, 1)
            .with_max_record_size(1024)
            .collect::<std::io::Result<_>>()
            .unwrap();
        assert!(whole.iter().all(|chunk| !chunk.cut_short));
    }

    proptest! {
        #[test]
        fn any_cut_keeps_records_whole_and_lines_counted(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-z,\"\n ]{0,6}", 1..4), 0..40),
            size in 1usize..64,
        ) {
            // Build a valid CSV: every field quoted, quotes doubled.
            let text: String = rows.iter().map(|row| {
                row.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect::<Vec<_>>().join(",") + "\n"
            }).collect();
            let pieces = chunks(&text, size);
            let mut line = 1;
            let mut joined = Vec::new();
            for piece in &pieces {
                prop_assert_eq!(piece.first_line, line);
                line += piece.bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                let quotes = piece.bytes.iter().filter(|&&b| b == b'"').count();
                prop_assert_eq!(quotes % 2, 0, "a chunk ends inside a quoted field");
                joined.extend_from_slice(&piece.bytes);
            }
            prop_assert_eq!(joined, text.into_bytes());
        }
    }
}
