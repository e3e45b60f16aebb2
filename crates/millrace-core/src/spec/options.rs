//! Node options: retries, timeout, caching, resources, image and trigger rule.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::spec::condition::ConditionSpec;

/// When a node runs, given the outcomes of the nodes it depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerRule {
    /// Every upstream node succeeded (or was skipped by its condition). The default.
    #[default]
    AllSuccess,
    /// Every upstream node finished, whatever its outcome.
    AllDone,
    /// At least one upstream node failed: for alerting and clean-up branches.
    OneFailed,
}

/// Retries with exponential backoff: the n-th retry waits
/// `min(initial_backoff * multiplier^(n-1), max_backoff)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// How many times a failed execution is retried.
    pub max_retries: u32,
    /// The wait before the first retry, in milliseconds.
    pub initial_backoff_ms: u64,
    /// The factor between successive waits (at least 1).
    pub multiplier: f64,
    /// The longest wait, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 0,
            initial_backoff_ms: 5_000,
            multiplier: 2.0,
            max_backoff_ms: 300_000,
        }
    }
}

impl RetryPolicy {
    /// `max_retries` retries with the default backoff.
    pub fn retries(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            ..RetryPolicy::default()
        }
    }

    /// Sets the backoff.
    pub fn backoff(mut self, initial: Duration, multiplier: f64, max: Duration) -> Self {
        self.initial_backoff_ms = u64::try_from(initial.as_millis()).unwrap_or(u64::MAX);
        self.multiplier = multiplier;
        self.max_backoff_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay_before(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let millis = self.initial_backoff_ms as f64 * self.multiplier.powi(exponent);
        let capped = millis.min(self.max_backoff_ms as f64);
        Duration::from_millis(if capped.is_finite() && capped > 0.0 {
            capped as u64
        } else {
            self.max_backoff_ms
        })
    }

    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            problems.push(format!(
                "retry multiplier must be a number of at least 1, not {}",
                self.multiplier
            ));
        }
        if self.initial_backoff_ms > self.max_backoff_ms {
            problems.push(format!(
                "retry initial_backoff_ms ({}) exceeds max_backoff_ms ({})",
                self.initial_backoff_ms, self.max_backoff_ms
            ));
        }
        problems
    }
}

/// Resource requests, as Kubernetes quantities.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Resources {
    /// CPU: `"2"`, `"0.5"`, `"500m"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory: `"512Mi"`, `"4Gi"`, `"1G"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Whole GPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
}

impl Resources {
    fn is_empty(&self) -> bool {
        self == &Resources::default()
    }

    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(cpu) = &self.cpu
            && !is_quantity(cpu, &["m"])
        {
            problems.push(format!(
                "cpu request `{cpu}` is not a quantity such as `2`, `0.5` or `500m`"
            ));
        }
        if let Some(memory) = &self.memory
            && !is_quantity(
                memory,
                &[
                    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E",
                ],
            )
        {
            problems.push(format!(
                "memory request `{memory}` is not a quantity such as `512Mi` or `4Gi`"
            ));
        }
        problems
    }
}

/// A positive decimal number followed by one of `suffixes` or nothing.
fn is_quantity(text: &str, suffixes: &[&str]) -> bool {
    let number = suffixes
        .iter()
        .find_map(|suffix| text.strip_suffix(suffix))
        .unwrap_or(text);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let shape_ok = match fraction {
        None => digits(whole),
        Some(fraction) => (whole.is_empty() || digits(whole)) && digits(fraction),
    };
    shape_ok && number.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

fn is_true(value: &bool) -> bool {
    *value
}

fn default_true() -> bool {
    true
}

/// Everything about how a node runs that is not its component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeOptions {
    /// Retries and backoff.
    #[serde(default, skip_serializing_if = "is_default_retry")]
    pub retry: RetryPolicy,
    /// The execution timeout in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Whether results may be reused from the cache.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub cache: bool,
    /// Resource requests.
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// The container image on container runners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When the node runs relative to its upstream outcomes.
    #[serde(default, skip_serializing_if = "is_default_trigger")]
    pub trigger_rule: TriggerRule,
    /// Runs the node only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<ConditionSpec>,
    /// The orchestrator's pool the node's task takes slots from (Airflow pools), limiting how
    /// many such tasks run at once; the local runner does not use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Splits the node's input examples into this many shards, each processed by a task of
    /// its own, whose results a merge task combines (only on component kinds that support it;
    /// see [`shard`](crate::spec::shard)). Absent: one task, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
}

fn is_default_retry(retry: &RetryPolicy) -> bool {
    retry == &RetryPolicy::default()
}

fn is_default_trigger(rule: &TriggerRule) -> bool {
    *rule == TriggerRule::default()
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            retry: RetryPolicy::default(),
            timeout_ms: None,
            cache: true,
            resources: Resources::default(),
            image: None,
            trigger_rule: TriggerRule::default(),
            when: None,
            pool: None,
            shards: None,
        }
    }
}

impl NodeOptions {
    /// Whether these are the default options (which the IR leaves out).
    pub fn is_default(&self) -> bool {
        self == &NodeOptions::default()
    }

    /// The problems with these options, as sentences (conditions are checked elsewhere).
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = self.retry.problems();
        problems.extend(self.resources.problems());
        if self.timeout_ms == Some(0) {
            problems.push("timeout must be longer than 0 ms".to_owned());
        }
        if let Some(image) = &self.image
            && (image.is_empty() || image.chars().any(char::is_whitespace))
        {
            problems.push(format!("image `{image}` is not a valid image reference"));
        }
        if let Some(pool) = &self.pool
            && (pool.is_empty()
                || pool.len() > 256
                || !pool
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            problems.push(format!(
                "pool `{pool}` is not a pool name (letters, digits, `_`, `-`, `.`)"
            ));
        }
        if self.shards == Some(0) {
            problems.push("shards must be at least 1, not 0".to_owned());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_follow_kubernetes_forms() {
        for good in ["2", "0.5", ".5", "500m", "1.5"] {
            assert!(is_quantity(good, &["m"]), "{good}");
        }
        for bad in ["", "m", "0", "-1", "1.", "two", "5x", "1..2"] {
            assert!(!is_quantity(bad, &["m"]), "{bad}");
        }
        assert!(is_quantity("4Gi", &["Gi"]));
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        let policy =
            RetryPolicy::retries(5).backoff(Duration::from_secs(1), 2.0, Duration::from_secs(5));
        let delays: Vec<u64> = (1..=5).map(|n| policy.delay_before(n).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 5, 5]);
    }

    #[test]
    fn defaults_serialise_to_nothing() {
        assert_eq!(
            serde_json::to_string(&NodeOptions::default()).unwrap(),
            "{}"
        );
        let parsed: NodeOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, NodeOptions::default());
    }
}
