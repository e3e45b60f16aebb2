//! Reading the words of a search filter: keys, comparators and operands, each with the byte
//! offset where it starts. Entity-independent; [`super`] decides what each key means.
//!
//! A key is `[prefix.]name`: the prefix is a word or a backticked word, the name a run of
//! `[A-Za-z0-9_.]` or any text in backticks or double quotes. An operand is a number
//! (`-1`, `2.5e-3`), a string in single or double quotes (taken as written: no escapes, so a
//! string holding `'` is written in double quotes), or a parenthesised list of strings.
//! Cost: one pass, `O(length)`.

use super::Comparator;

/// A key as written: `metrics.`rmse``, `status`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawKey {
    pub(super) prefix: Option<String>,
    pub(super) name: String,
    pub(super) position: usize,
}

/// An operand as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RawOperand {
    Number(f64),
    Text(String),
    List(Vec<String>),
}

/// A position in the text and what is wrong there.
pub(super) type Problem = (usize, String);

/// A reader over the text of one filter or order-by entry.
pub(super) struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Cursor { text, position: 0 }
    }

    pub(super) fn position(&self) -> usize {
        self.position
    }

    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.position += rest.len() - rest.trim_start().len();
    }

    /// True when only whitespace (or one trailing `;`) is left.
    pub(super) fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        let rest = self.rest();
        rest.is_empty() || rest == ";"
    }

    /// The next run of `[A-Za-z0-9_]`, without consuming it.
    pub(super) fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Consumes `word` (case-insensitive) if it is the next whole word.
    pub(super) fn eat_keyword(&mut self, word: &str) -> bool {
        self.skip_whitespace();
        if self.peek_word().eq_ignore_ascii_case(word) {
            self.position += word.len();
            true
        } else {
            false
        }
    }

    /// Text up to the closing `quote`, which is consumed; the opening one already was.
    fn quoted(&mut self, quote: char, start: usize) -> Result<String, Problem> {
        let rest = self.rest();
        match rest.find(quote) {
            Some(end) => {
                self.position += end + quote.len_utf8();
                Ok(rest[..end].to_owned())
            }
            None => Err((start, format!("the {quote} opened here is never closed"))),
        }
    }

    /// A key: `prefix.name`, `prefix.`a.b``, `prefix."a b"`, `name`.
    pub(super) fn key(&mut self) -> Result<RawKey, Problem> {
        self.skip_whitespace();
        let position = self.position;
        let (first, first_quote) = match self.peek() {
            Some(quote @ ('`' | '"')) => {
                self.position += 1;
                (self.quoted(quote, position)?, Some(quote))
            }
            _ => {
                let word = self.peek_word();
                if word.is_empty() {
                    return Err((position, expected_key(self.peek())));
                }
                self.position += word.len();
                (word.to_owned(), None)
            }
        };
        if first_quote == Some('"') || self.peek() != Some('.') {
            return Ok(RawKey {
                prefix: None,
                name: first,
                position,
            });
        }
        self.position += 1;
        let name_start = self.position;
        let name = match self.peek() {
            Some(quote @ ('`' | '"')) => {
                self.position += 1;
                self.quoted(quote, name_start)?
            }
            _ => {
                let rest = self.rest();
                let end = rest
                    .find(|c: char| !(is_word_char(c) || c == '.'))
                    .unwrap_or(rest.len());
                self.position += end;
                rest[..end].to_owned()
            }
        };
        if name.is_empty() {
            return Err((
                name_start,
                format!(
                    "a key is missing after `{first}.`: write `{first}.name`, or `{first}.`a name`` for names with other characters"
                ),
            ));
        }
        Ok(RawKey {
            prefix: Some(first),
            name,
            position,
        })
    }

    /// A comparator: `= != > >= < <= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL`.
    pub(super) fn comparator(&mut self) -> Result<Comparator, Problem> {
        self.skip_whitespace();
        let position = self.position;
        let rest = self.rest();
        for (symbol, comparator) in [
            ("!=", Comparator::Ne),
            (">=", Comparator::Ge),
            ("<=", Comparator::Le),
            ("=", Comparator::Eq),
            (">", Comparator::Gt),
            ("<", Comparator::Lt),
        ] {
            if let Some(after) = rest.strip_prefix(symbol) {
                if after.starts_with(['=', '>', '<']) {
                    break;
                }
                self.position += symbol.len();
                return Ok(comparator);
            }
        }
        if self.eat_keyword("LIKE") {
            return Ok(Comparator::Like);
        }
        if self.eat_keyword("ILIKE") {
            return Ok(Comparator::ILike);
        }
        if self.eat_keyword("IN") {
            return Ok(Comparator::In);
        }
        if self.eat_keyword("NOT") {
            if self.eat_keyword("IN") {
                return Ok(Comparator::NotIn);
            }
            return Err((position, "`NOT` must be followed by `IN`".to_owned()));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if self.eat_keyword("NULL") {
                return Ok(if negated {
                    Comparator::IsNotNull
                } else {
                    Comparator::IsNull
                });
            }
            return Err((
                position,
                "`IS` must be followed by `NULL` or `NOT NULL`".to_owned(),
            ));
        }
        Err((
            position,
            format!(
                "expected a comparator (= != > >= < <= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL), found {}",
                found(rest)
            ),
        ))
    }

    /// An operand: a number, a quoted string, or `('a', 'b')`.
    pub(super) fn operand(&mut self) -> Result<RawOperand, Problem> {
        self.skip_whitespace();
        let position = self.position;
        match self.peek() {
            Some(quote @ ('\'' | '"')) => {
                self.position += 1;
                Ok(RawOperand::Text(self.quoted(quote, position)?))
            }
            Some('(') => {
                self.position += 1;
                self.list(position)
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '-' | '+' | '.') => self.number(),
            _ => Err((
                position,
                format!(
                    "expected a value: a number, a string in single or double quotes, or a list ('a', 'b'); found {}",
                    found(self.rest())
                ),
            )),
        }
    }

    fn number(&mut self) -> Result<RawOperand, Problem> {
        let position = self.position;
        let bytes = self.rest().as_bytes();
        let mut end = 0;
        let digits = |from: usize| {
            bytes[from..]
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count()
        };
        if matches!(bytes.first(), Some(b'-' | b'+')) {
            end += 1;
        }
        let whole = digits(end);
        end += whole;
        let mut fraction = 0;
        if bytes.get(end) == Some(&b'.') {
            fraction = digits(end + 1);
            end += 1 + fraction;
        }
        if whole + fraction > 0 && matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut exponent_end = end + 1;
            if matches!(bytes.get(exponent_end), Some(b'-' | b'+')) {
                exponent_end += 1;
            }
            let exponent = digits(exponent_end);
            if exponent > 0 {
                end = exponent_end + exponent;
            }
        }
        let literal = &self.rest()[..end];
        let followed_by_word =
            self.rest()[end..].starts_with(|c: char| is_word_char(c) || c == '.');
        match literal.parse::<f64>() {
            Ok(number) if whole + fraction > 0 && !followed_by_word && number.is_finite() => {
                self.position += end;
                Ok(RawOperand::Number(number))
            }
            _ => Err((
                position,
                format!(
                    "expected a number such as 3, -0.5 or 1e-3, found {}",
                    found(self.rest())
                ),
            )),
        }
    }

    fn list(&mut self, open: usize) -> Result<RawOperand, Problem> {
        let mut items = Vec::new();
        loop {
            self.skip_whitespace();
            let position = self.position;
            match self.peek() {
                Some(')') if items.is_empty() => {
                    return Err((
                        position,
                        "the list is empty: give at least one quoted string, as in ('a', 'b')"
                            .to_owned(),
                    ));
                }
                Some(quote @ ('\'' | '"')) => {
                    self.position += 1;
                    items.push(self.quoted(quote, position)?);
                }
                None => return Err((open, "the ( opened here is never closed".to_owned())),
                _ => {
                    return Err((
                        position,
                        format!(
                            "a list holds only quoted strings, as in ('a', 'b'); found {}",
                            found(self.rest())
                        ),
                    ));
                }
            }
            self.skip_whitespace();
            match self.peek() {
                Some(',') => self.position += 1,
                Some(')') => {
                    self.position += 1;
                    return Ok(RawOperand::List(items));
                }
                None => return Err((open, "the ( opened here is never closed".to_owned())),
                _ => {
                    return Err((
                        self.position,
                        format!(
                            "expected `,` or `)` in the list, found {}",
                            found(self.rest())
                        ),
                    ));
                }
            }
        }
    }
}

/// What the reader found, for messages: `` `OR x` `` or `the end`.
pub(super) fn found(rest: &str) -> String {
    let rest = rest.trim_start();
    if rest.is_empty() {
        return "the end of the text".to_owned();
    }
    let shown: String = rest.chars().take(20).collect();
    format!("`{shown}`")
}

fn expected_key(next: Option<char>) -> String {
    format!(
        "expected a key such as metrics.loss, params.lr, tags.`mlflow.runName` or status, found {}",
        next.map_or("the end of the text".to_owned(), |c| format!("`{c}`"))
    )
}
