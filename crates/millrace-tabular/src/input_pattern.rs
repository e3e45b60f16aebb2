//! Input file patterns with spans and versions: `data/span-{SPAN}/v{VERSION}/*.csv`.
//!
//! A pattern is a path whose components may hold `*` (any characters), `?` (one character),
//! `{SPAN}` and `{VERSION}` (a run of digits, captured). New data arrive as new spans; a span
//! re-delivered with corrections is a new version. By default the latest span is ingested, in its
//! latest version.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{DataError, Result};

/// Which spans to ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanSelection {
    /// The highest span found (span 0 when the pattern has no `{SPAN}`).
    #[default]
    Latest,
    /// Exactly this span.
    Exact(i64),
    /// Every span from the first to the last, inclusive.
    Range(i64, i64),
}

/// The files a pattern selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedFiles {
    /// The files, sorted by span, then path.
    pub files: Vec<PathBuf>,
    /// The highest span selected (0 when the pattern has no `{SPAN}`).
    pub span: i64,
    /// The version of that span (when the pattern has `{VERSION}`).
    pub version: Option<i64>,
    /// Every span selected, ascending.
    pub spans: Vec<i64>,
}

/// One file that matched, with what its path said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Match {
    path: PathBuf,
    span: Option<i64>,
    version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyRun,
    AnyOne,
    Span,
    Version,
}

fn tokens(component: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = component;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("{SPAN}") {
            tokens.push(Token::Span);
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{VERSION}") {
            tokens.push(Token::Version);
            rest = after;
        } else {
            tokens.push(match c {
                '*' => Token::AnyRun,
                '?' => Token::AnyOne,
                c => Token::Literal(c),
            });
            rest = &rest[c.len_utf8()..];
        }
    }
    tokens
}

fn is_pattern(component: &str) -> bool {
    component.contains(['*', '?'])
        || component.contains("{SPAN}")
        || component.contains("{VERSION}")
}

/// Matches `name` against `tokens`, filling the captured span and version.
fn match_tokens(
    tokens: &[Token],
    name: &[char],
    span: &mut Option<i64>,
    version: &mut Option<i64>,
) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return name.is_empty();
    };
    match first {
        Token::Literal(c) => {
            name.first() == Some(c) && match_tokens(rest, &name[1..], span, version)
        }
        Token::AnyOne => !name.is_empty() && match_tokens(rest, &name[1..], span, version),
        Token::AnyRun => {
            (0..=name.len()).any(|skip| match_tokens(rest, &name[skip..], span, version))
        }
        Token::Span | Token::Version => {
            let digits = name.iter().take_while(|c| c.is_ascii_digit()).count();
            (1..=digits).rev().any(|length| {
                let text: String = name[..length].iter().collect();
                let Ok(value) = text.parse::<i64>() else {
                    return false;
                };
                let slot = if *first == Token::Span {
                    &mut *span
                } else {
                    &mut *version
                };
                if slot.is_some_and(|known| known != value) {
                    return false;
                }
                let before = *slot;
                *slot = Some(value);
                if match_tokens(rest, &name[length..], span, version) {
                    return true;
                }
                let slot = if *first == Token::Span {
                    &mut *span
                } else {
                    &mut *version
                };
                *slot = before;
                false
            })
        }
    }
}

/// The files matching `pattern`, with the spans and versions their paths name.
fn matches(pattern: &Path) -> Result<Vec<Match>> {
    let mut frontier: Vec<Match> = vec![Match {
        path: PathBuf::new(),
        span: None,
        version: None,
    }];
    let components: Vec<Component<'_>> = pattern.components().collect();
    for component in components {
        let text = component.as_os_str().to_string_lossy().into_owned();
        let mut next = Vec::new();
        if !is_pattern(&text) {
            for partial in frontier {
                next.push(Match {
                    path: partial.path.join(component.as_os_str()),
                    ..partial
                });
            }
        } else {
            let pattern_tokens = tokens(&text);
            for partial in frontier {
                let dir = if partial.path.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    partial.path.clone()
                };
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries {
                    let entry = entry.map_err(|error| DataError::io(&dir, error))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') && !text.starts_with('.') {
                        continue;
                    }
                    let chars: Vec<char> = name.chars().collect();
                    let (mut span, mut version) = (partial.span, partial.version);
                    if match_tokens(&pattern_tokens, &chars, &mut span, &mut version) {
                        next.push(Match {
                            path: partial.path.join(&name),
                            span,
                            version,
                        });
                    }
                }
            }
        }
        frontier = next;
    }
    frontier.retain(|found| found.path.is_file());
    frontier.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(frontier)
}

/// The files of `pattern` for the spans `selection` asks for, each span in its latest version.
pub fn select_files(pattern: &Path, selection: SpanSelection) -> Result<SelectedFiles> {
    let text = pattern.to_string_lossy();
    select(&matches(pattern)?, &text, selection)
}

/// The keys of an object store (`a/b/c.csv`, no leading `/`) that `pattern` (a key pattern of
/// the same shape) selects for `selection`: [`select_files`] for a listing instead of a
/// directory walk. Keys under a component that starts with `.` are not seen (an upload in
/// progress, by convention), unless the pattern's component starts with `.` too.
pub fn select_keys<'a>(
    pattern: &str,
    keys: impl IntoIterator<Item = &'a str>,
    selection: SpanSelection,
) -> Result<SelectedFiles> {
    let parts: Vec<&str> = pattern.split('/').filter(|part| !part.is_empty()).collect();
    let part_tokens: Vec<Vec<Token>> = parts.iter().map(|part| tokens(part)).collect();
    let mut found = Vec::new();
    for key in keys {
        let names: Vec<&str> = key.split('/').filter(|name| !name.is_empty()).collect();
        if names.len() != parts.len() {
            continue;
        }
        let (mut span, mut version) = (None, None);
        let matched = names
            .iter()
            .zip(&parts)
            .zip(&part_tokens)
            .all(|((name, part), tokens)| {
                if name.starts_with('.') && !part.starts_with('.') {
                    return false;
                }
                let chars: Vec<char> = name.chars().collect();
                match_tokens(tokens, &chars, &mut span, &mut version)
            });
        if matched {
            found.push(Match {
                path: PathBuf::from(key),
                span,
                version,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    select(&found, pattern, selection)
}

/// The part of a key pattern before its first component with `*`, `?`, `{SPAN}` or
/// `{VERSION}`: the prefix to list.
pub fn literal_prefix(pattern: &str) -> String {
    let literal: Vec<&str> = pattern
        .split('/')
        .filter(|part| !part.is_empty())
        .take_while(|part| !is_pattern(part))
        .collect();
    literal.join("/")
}

/// The spans `selection` asks for among `found` (matches of `text`), each in its latest
/// version.
fn select(found: &[Match], text: &str, selection: SpanSelection) -> Result<SelectedFiles> {
    if found.is_empty() {
        return Err(DataError::NoInputFiles {
            pattern: text.to_owned(),
            selection,
            spans_found: Vec::new(),
        });
    }
    let has_span = text.contains("{SPAN}");
    let span_of = |found: &Match| found.span.unwrap_or(0);
    let mut spans: Vec<i64> = found.iter().map(span_of).collect();
    spans.sort_unstable();
    spans.dedup();
    let wanted: Vec<i64> = match selection {
        SpanSelection::Latest => spans.last().copied().into_iter().collect(),
        SpanSelection::Exact(span) => spans.iter().copied().filter(|&s| s == span).collect(),
        SpanSelection::Range(first, last) => spans
            .iter()
            .copied()
            .filter(|s| (first..=last).contains(s))
            .collect(),
    };
    if wanted.is_empty() || !has_span && selection != SpanSelection::Latest && wanted != [0] {
        return Err(DataError::NoInputFiles {
            pattern: text.to_owned(),
            selection,
            spans_found: spans,
        });
    }
    let mut files = Vec::new();
    let mut version = None;
    for &span in &wanted {
        let in_span: Vec<&Match> = found.iter().filter(|f| span_of(f) == span).collect();
        let latest_version = in_span.iter().filter_map(|f| f.version).max();
        files.extend(
            in_span
                .into_iter()
                .filter(|f| f.version == latest_version)
                .map(|f| f.path.clone()),
        );
        version = latest_version;
    }
    Ok(SelectedFiles {
        files,
        span: wanted.last().copied().unwrap_or(0),
        version,
        spans: wanted,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x\n1\n").unwrap();
    }

    #[test]
    fn keys_of_a_listing_are_selected_as_files_are() {
        let keys = [
            "data/trips/span-1/a.csv",
            "data/trips/span-2/a.csv",
            "data/trips/span-2/b.csv",
            "data/trips/.span-3.part/a.csv",
            "data/trips/span-4/nested/a.csv",
            "data/other/span-9/a.csv",
        ];
        let pattern = "data/trips/span-{SPAN}/*.csv";
        assert_eq!(literal_prefix(pattern), "data/trips");
        let latest = select_keys(pattern, keys, SpanSelection::Latest).unwrap();
        assert_eq!(latest.span, 2);
        assert_eq!(
            latest.files,
            [
                PathBuf::from("data/trips/span-2/a.csv"),
                PathBuf::from("data/trips/span-2/b.csv")
            ]
        );
        let all = select_keys(pattern, keys, SpanSelection::Range(0, 10)).unwrap();
        assert_eq!(all.spans, [1, 2]);
        assert!(matches!(
            select_keys(pattern, ["elsewhere/x.csv"], SpanSelection::Latest),
            Err(DataError::NoInputFiles { .. })
        ));
    }

    #[test]
    fn the_latest_span_in_its_latest_version_is_selected() {
        let root = tempfile::tempdir().unwrap();
        for file in [
            "span-1/v1/a.csv",
            "span-2/v1/a.csv",
            "span-2/v3/a.csv",
            "span-2/v3/b.csv",
            "span-10/v1/a.csv",
            "span-10/v2/a.csv",
            "span-10/v2/notes.txt",
        ] {
            touch(root.path(), file);
        }
        let pattern = root.path().join("span-{SPAN}/v{VERSION}/*.csv");
        let latest = select_files(&pattern, SpanSelection::Latest).unwrap();
        assert_eq!((latest.span, latest.version), (10, Some(2)));
        assert_eq!(latest.files, vec![root.path().join("span-10/v2/a.csv")]);
        let two = select_files(&pattern, SpanSelection::Exact(2)).unwrap();
        assert_eq!(two.version, Some(3));
        assert_eq!(two.files.len(), 2);
        let range = select_files(&pattern, SpanSelection::Range(1, 2)).unwrap();
        assert_eq!(range.spans, vec![1, 2]);
        assert_eq!(range.files.len(), 3);
        let error = select_files(&pattern, SpanSelection::Exact(5)).unwrap_err();
        assert!(
            error.to_string().contains("spans found: [1, 2, 10]"),
            "{error}"
        );
    }

    #[test]
    fn plain_globs_are_span_zero_and_a_span_must_agree_within_a_path() {
        let root = tempfile::tempdir().unwrap();
        touch(root.path(), "data/part-1.csv");
        touch(root.path(), "data/part-2.csv");
        touch(root.path(), "s3/day-3.csv");
        touch(root.path(), "s3/day-4.csv");
        let plain = select_files(&root.path().join("data/*.csv"), SpanSelection::Latest).unwrap();
        assert_eq!((plain.span, plain.files.len()), (0, 2));
        let repeated = select_files(
            &root.path().join("s{SPAN}/day-{SPAN}.csv"),
            SpanSelection::Latest,
        )
        .unwrap();
        assert_eq!(repeated.files, vec![root.path().join("s3/day-3.csv")]);
        assert!(select_files(&root.path().join("nothing/*.csv"), SpanSelection::Latest).is_err());
    }
}
