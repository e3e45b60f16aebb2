//! Trigger rules as Argo `depends` expressions (docs/enhanced-depends-logic.md).
//!
//! A bare `A` in `depends` means `A.Succeeded || A.Skipped || A.Daemoned`, not Millrace's
//! `all_success`; every result is therefore written out.

use millrace_core::spec::TriggerRule;

/// The results after which a task counts as done, whatever its outcome.
const DONE: [&str; 5] = ["Succeeded", "Failed", "Errored", "Skipped", "Omitted"];

/// The `depends` expression of a task with the upstream tasks `upstream` (Argo names, sorted)
/// and trigger rule `rule`; `None` without upstream tasks.
pub fn depends(upstream: &[&str], rule: TriggerRule) -> Option<String> {
    if upstream.is_empty() {
        return None;
    }
    Some(match rule {
        TriggerRule::AllSuccess => upstream
            .iter()
            .map(|task| format!("{task}.Succeeded"))
            .collect::<Vec<_>>()
            .join(" && "),
        TriggerRule::AllDone => upstream
            .iter()
            .map(|task| {
                let results: Vec<String> = DONE
                    .iter()
                    .map(|result| format!("{task}.{result}"))
                    .collect();
                format!("({})", results.join(" || "))
            })
            .collect::<Vec<_>>()
            .join(" && "),
        TriggerRule::OneFailed => upstream
            .iter()
            .map(|task| format!("{task}.Failed"))
            .collect::<Vec<_>>()
            .join(" || "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_success_needs_every_upstream_task_succeeded() {
        assert_eq!(
            depends(&["a", "b"], TriggerRule::AllSuccess).unwrap(),
            "a.Succeeded && b.Succeeded"
        );
    }

    #[test]
    fn all_done_accepts_every_final_result() {
        assert_eq!(
            depends(&["a"], TriggerRule::AllDone).unwrap(),
            "(a.Succeeded || a.Failed || a.Errored || a.Skipped || a.Omitted)"
        );
    }

    #[test]
    fn one_failed_needs_any_upstream_task_failed() {
        assert_eq!(
            depends(&["a", "b"], TriggerRule::OneFailed).unwrap(),
            "a.Failed || b.Failed"
        );
        assert_eq!(depends(&[], TriggerRule::OneFailed), None);
    }
}
