//! Labels and annotations on everything the runner creates, and names Kubernetes accepts.
//!
//! Label values must be at most 63 characters, empty or starting and ending with a letter or
//! digit, with `-`, `_` and `.` inside. Run ids, node ids and pipeline names need not be: a
//! value that is not a label value already is [sanitised](label_value) (other characters
//! become `-`, and a long or changed value ends with a hash of the original, so that two
//! values never share a label), and the full value goes into an annotation of the same key.

use std::collections::BTreeMap;

use millrace_runner::NodeTask;

/// The standard label saying which tool manages an object.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] on every object the runner creates.
pub const MANAGER: &str = "millrace";
/// The pipeline's name.
pub const PIPELINE: &str = "millrace.dev/pipeline";
/// The run's id.
pub const RUN_ID: &str = "millrace.dev/run-id";
/// The node's id.
pub const NODE: &str = "millrace.dev/node";
/// The attempt (0 for the first).
pub const ATTEMPT: &str = "millrace.dev/attempt";
/// The task's Job name, on the Job's pods: what the runner selects them by.
pub const TASK: &str = "millrace.dev/task";
/// The pipeline's fingerprint (an annotation).
pub const FINGERPRINT: &str = "millrace.dev/fingerprint";

/// The longest label value, and the longest name of most objects.
const MAX: usize = 63;

/// `text` as a label value: itself when it is one, else its letters, digits, `-`, `_` and `.`
/// (others become `-`) cut to 50 characters, then `-` and 12 hex digits of a hash of `text`.
///
/// ```
/// use millrace_kubernetes::labels::label_value;
///
/// assert_eq!(label_value("train"), "train");
/// assert_eq!(label_value("20260101T120000-ab12"), "20260101T120000-ab12");
/// let odd = label_value("manual__2026-06-01T03:30:00+00:00");
/// assert!(odd.starts_with("manual__2026-06-01T03-30-00-00-00-"), "{odd}");
/// assert!(odd.len() <= 63);
/// ```
pub fn label_value(text: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let is_value = text.len() <= MAX
        && text.chars().all(valid)
        && text
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_alphanumeric())
        && text
            .chars()
            .next_back()
            .is_none_or(|c| c.is_ascii_alphanumeric());
    if is_value {
        return text.to_owned();
    }
    let cleaned: String = text
        .chars()
        .map(|c| if valid(c) { c } else { '-' })
        .collect();
    with_hash(&cleaned, text, |c| c.is_ascii_alphanumeric())
}

/// `text` as a DNS label (a Job's or ConfigMap's name): lowercase letters, digits and `-`,
/// starting and ending with a letter or digit, at most 63 characters; a changed or long value
/// ends with a hash of the original.
///
/// ```
/// use millrace_kubernetes::labels::dns_name;
///
/// assert_eq!(dns_name("millrace-run-r1"), "millrace-run-r1");
/// let name = dns_name("millrace-run-Manual__2026");
/// assert!(name.starts_with("millrace-run-manual--2026-"), "{name}");
/// ```
pub fn dns_name(text: &str) -> String {
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !text.is_empty()
        && text.len() <= MAX
        && text.chars().all(valid)
        && text.starts_with(alnum)
        && text.ends_with(alnum)
    {
        return text.to_owned();
    }
    let cleaned: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if valid(c) { c } else { '-' })
        .collect();
    with_hash(&cleaned, text, alnum)
}

/// `cleaned` trimmed to what `edge` accepts at both ends and cut to 50 characters, then `-` and
/// a hash of `original`.
fn with_hash(cleaned: &str, original: &str, edge: impl Fn(char) -> bool) -> String {
    let hash = blake3::hash(original.as_bytes()).to_hex();
    let mut head: String = cleaned
        .trim_start_matches(|c: char| !edge(c))
        .chars()
        .take(50)
        .collect();
    while head.ends_with(|c: char| !edge(c)) {
        head.pop();
    }
    if head.is_empty() {
        format!("h{}", &hash[..12])
    } else {
        format!("{head}-{}", &hash[..12])
    }
}

/// The labels of everything created for one run: managed by Millrace, the pipeline, the run.
pub fn run_labels(pipeline: &str, run_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
        (PIPELINE.to_owned(), label_value(pipeline)),
        (RUN_ID.to_owned(), label_value(run_id)),
    ])
}

/// The annotations of everything created for one run: the full pipeline name and run id.
pub fn run_annotations(pipeline: &str, run_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PIPELINE.to_owned(), pipeline.to_owned()),
        (RUN_ID.to_owned(), run_id.to_owned()),
    ])
}

/// The labels of a task's Job and pod: the run's, the node, the attempt and the task.
pub fn task_labels(task: &NodeTask) -> BTreeMap<String, String> {
    let mut labels = run_labels(&task.pipeline, &task.run_id);
    labels.insert(NODE.to_owned(), label_value(&task.node));
    labels.insert(ATTEMPT.to_owned(), task.attempt.to_string());
    labels.insert(TASK.to_owned(), task.name());
    labels
}

/// The annotations of a task's Job and pod: the full values of the labels, and the pipeline's
/// fingerprint.
pub fn task_annotations(task: &NodeTask) -> BTreeMap<String, String> {
    let mut annotations = run_annotations(&task.pipeline, &task.run_id);
    annotations.insert(NODE.to_owned(), task.node.clone());
    annotations.insert(ATTEMPT.to_owned(), task.attempt.to_string());
    annotations.insert(FINGERPRINT.to_owned(), task.fingerprint.clone());
    annotations
}

/// A label selector (`key=value,...`) matching every label of `labels`.
pub fn selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_label_value(value: &str) -> bool {
        value.len() <= MAX
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_alphanumeric())
            && value
                .chars()
                .next_back()
                .is_none_or(|c| c.is_ascii_alphanumeric())
    }

    #[test]
    fn every_text_becomes_a_label_value_and_different_texts_stay_different() {
        let texts = [
            "",
            "-",
            "_lead",
            "trail.",
            "café → 😀",
            "manual__2026-06-01T03:30:00+00:00",
            &"x".repeat(64),
            &"x".repeat(200),
            "a/b",
            "a-b",
        ];
        let mut seen = std::collections::BTreeSet::new();
        for text in texts {
            let value = label_value(text);
            assert!(is_label_value(&value), "{text:?} -> {value:?}");
            assert!(seen.insert(value.clone()), "{text:?} -> {value:?} again");
        }
    }

    #[test]
    fn every_text_becomes_a_dns_name() {
        for text in ["", "-", "A_B", "millrace-run-x", &"y".repeat(100), "é"] {
            let name = dns_name(text);
            assert!(
                !name.is_empty() && name.len() <= MAX,
                "{text:?} -> {name:?}"
            );
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!name.starts_with('-') && !name.ends_with('-'), "{name}");
        }
    }
}
