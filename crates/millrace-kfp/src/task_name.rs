//! KFP task names from node ids: lowercase letters, digits and `-` (Kubernetes names, what the
//! `kfp` compiler makes of Python function names), unique within the pipeline.

use std::collections::{BTreeMap, BTreeSet};

/// The name of the task group that holds every task but the exit handler's.
pub const EXIT_HANDLER_GROUP: &str = "exit-handler-1";

/// `text` as a KFP name: lowercase, every run of other characters as one `-`, no `-` at
/// either end, never empty.
pub fn sanitize(text: &str) -> String {
    let mut name = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches('-');
    if name.is_empty() {
        "task".to_owned()
    } else {
        name.to_owned()
    }
}

/// The task name of every node id, in the order given, unique (a later clash gets `-2`,
/// `-3`, ...) and never the exit handler's group name.
pub fn task_names<'a>(ids: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut taken: BTreeSet<String> = BTreeSet::from([EXIT_HANDLER_GROUP.to_owned()]);
    let mut names = BTreeMap::new();
    for id in ids {
        let base = sanitize(id);
        let mut name = base.clone();
        let mut suffix = 2;
        while taken.contains(&name) {
            name = format!("{base}-{suffix}");
            suffix += 1;
        }
        taken.insert(name.clone());
        names.insert(id.to_owned(), name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_become_lowercase_dashed_names() {
        assert_eq!(sanitize("Train_Model"), "train-model");
        assert_eq!(sanitize("__a..b__"), "a-b");
        assert_eq!(sanitize("{{$(x)}}"), "x");
        assert_eq!(sanitize("café"), "caf");
        assert_eq!(sanitize("---"), "task");
    }

    #[test]
    fn clashing_ids_get_distinct_names() {
        let names = task_names(["a_b", "a-b", "A_B", "exit_handler_1"]);
        assert_eq!(names["a_b"], "a-b");
        assert_eq!(names["a-b"], "a-b-2");
        assert_eq!(names["A_B"], "a-b-3");
        assert_eq!(names["exit_handler_1"], "exit-handler-1-2");
    }
}
