//! Kubernetes-safe names for nodes, pipelines and labels, and the mapping back to node ids.
//!
//! Node ids may hold `_` and capitals, which Argo task and template names (and Kubernetes
//! object names) cannot; every name is lowercased, other characters become `-`, and a name
//! taken by an earlier node gets a numbered suffix. The real id stays in the task's
//! `--node` argument and in the template's [`NODE_ANNOTATION`].

use std::collections::{BTreeMap, BTreeSet};

/// The annotation on each template holding the node's real id.
pub const NODE_ANNOTATION: &str = "millrace.dev/node";

/// A DNS-1123 label from `text`: lowercase letters, digits and `-`, starting with a letter,
/// ending with a letter or digit, at most 63 characters.
pub fn dns_label(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "n-");
    }
    name.truncate(63);
    while name.ends_with('-') {
        name.pop();
    }
    name
}

/// The Argo name of every node, by node id: distinct, and none equal to `reserved`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskNames {
    by_id: BTreeMap<String, String>,
}

impl TaskNames {
    /// Names for `ids`, in order (an earlier id keeps the plain name).
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>, reserved: &[&str]) -> Self {
        let mut taken: BTreeSet<String> = reserved.iter().map(|name| (*name).to_owned()).collect();
        let mut by_id = BTreeMap::new();
        for id in ids {
            let base = dns_label(id);
            let mut name = base.clone();
            let mut suffix = 2;
            while taken.contains(&name) {
                let tail = format!("-{suffix}");
                let mut head = base.clone();
                head.truncate(63 - tail.len());
                name = format!("{head}{tail}");
                suffix += 1;
            }
            taken.insert(name.clone());
            by_id.insert(id.to_owned(), name);
        }
        TaskNames { by_id }
    }

    /// The Argo name of node `id`.
    pub fn of(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// Every (node id, Argo name).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_id
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscores_and_capitals_become_a_dns_label() {
        assert_eq!(dns_label("Train_Model"), "train-model");
        assert_eq!(dns_label("_x"), "n--x");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn colliding_ids_get_numbered_names() {
        let names = TaskNames::new(["a_b", "a-b", "main"], &["main"]);
        assert_eq!(names.of("a_b"), Some("a-b"));
        assert_eq!(names.of("a-b"), Some("a-b-2"));
        assert_eq!(names.of("main"), Some("main-2"));
    }
}
