//! `Readiness`: which tasks of a run may start, kept up to date as tasks end.
//!
//! # Algorithm
//!
//! Each task counts its upstream tasks that have not ended yet (Kahn's algorithm). When a task
//! ends, each of its successors' counts drops by one, and a successor whose count reaches zero
//! joins the ready set, ordered by the task's position in the run's dependency order — the
//! order in which a scan of the pipeline would have found it.
//!
//! A task "ends" in two steps under the local runner (see `launcher/batching.rs`): it is
//! *finishing* once its outputs are in place and its record is queued, and *done* once the
//! record has committed. A task launched in this process may start as soon as its upstream
//! tasks are finishing — its start joins their transaction; a task executed elsewhere (by a
//! dispatcher) reads its inputs from the store, so it waits until they are done. Each task keeps
//! both counts.
//!
//! # Cost
//!
//! O(tasks + edges) for the whole run: each edge is counted down at most twice, and each
//! ready task is taken once in O(log ready). A scan of every task each time one ended would be
//! O(tasks²) — seconds for a 10,000-node pipeline.

use std::collections::{BTreeSet, HashMap, HashSet};

/// The tasks of one run and which of them may start; see the [module](self).
#[derive(Debug)]
pub(crate) struct Readiness {
    order: Vec<String>,
    position: HashMap<String, usize>,
    successors: Vec<Vec<usize>>,
    /// Upstream tasks neither finishing nor done.
    not_finishing: Vec<usize>,
    /// Upstream tasks not done.
    not_done: Vec<usize>,
    /// Whether the task waits for its upstream tasks to be done (it executes elsewhere).
    waits_for_done: Vec<bool>,
    finishing: Vec<bool>,
    taken: Vec<bool>,
    ready: BTreeSet<usize>,
}

impl Readiness {
    /// The tasks in dependency `order`, each waiting for its `upstream` tasks; `elsewhere` are
    /// the tasks executed by a dispatcher; `done` have ended before (a resumed run) and are
    /// never taken.
    pub(crate) fn new(
        order: Vec<String>,
        upstream: &HashMap<String, Vec<String>>,
        elsewhere: &HashSet<&str>,
        done: &HashSet<&str>,
    ) -> Self {
        let position: HashMap<String, usize> = order
            .iter()
            .enumerate()
            .map(|(index, task)| (task.clone(), index))
            .collect();
        let mut successors = vec![Vec::new(); order.len()];
        let mut waiting = vec![0; order.len()];
        for (index, task) in order.iter().enumerate() {
            for up in upstream.get(task).into_iter().flatten() {
                let Some(&up) = position.get(up) else {
                    continue;
                };
                successors[up].push(index);
                if !done.contains(order[up].as_str()) {
                    waiting[index] += 1;
                }
            }
        }
        let taken: Vec<bool> = order
            .iter()
            .map(|task| done.contains(task.as_str()))
            .collect();
        let ready = (0..order.len())
            .filter(|&index| waiting[index] == 0 && !taken[index])
            .collect();
        Readiness {
            waits_for_done: order
                .iter()
                .map(|task| elsewhere.contains(task.as_str()))
                .collect(),
            finishing: vec![false; order.len()],
            not_finishing: waiting.clone(),
            not_done: waiting,
            taken,
            ready,
            successors,
            position,
            order,
        }
    }

    /// The first ready task in dependency order, without taking it.
    pub(crate) fn peek(&self) -> Option<&str> {
        self.ready.first().map(|&index| self.order[index].as_str())
    }

    /// Takes the first ready task in dependency order.
    pub(crate) fn take(&mut self) -> Option<String> {
        let index = self.ready.pop_first()?;
        self.taken[index] = true;
        Some(self.order[index].clone())
    }

    /// `task`'s record is queued: successors launched here may start.
    pub(crate) fn finishing(&mut self, task: &str) {
        let Some(&index) = self.position.get(task) else {
            return;
        };
        if std::mem::replace(&mut self.finishing[index], true) {
            return;
        }
        for successor in self.successors[index].clone() {
            self.not_finishing[successor] -= 1;
            self.update(successor);
        }
    }

    /// `task` has ended and its record committed: every successor may start.
    pub(crate) fn done(&mut self, task: &str) {
        let Some(&index) = self.position.get(task) else {
            return;
        };
        let was_finishing = std::mem::replace(&mut self.finishing[index], true);
        for successor in self.successors[index].clone() {
            if !was_finishing {
                self.not_finishing[successor] -= 1;
            }
            self.not_done[successor] -= 1;
            self.update(successor);
        }
    }

    fn update(&mut self, index: usize) {
        let waiting = if self.waits_for_done[index] {
            self.not_done[index]
        } else {
            self.not_finishing[index]
        };
        if waiting == 0 && !self.taken[index] {
            self.ready.insert(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readiness(edges: &[(&str, &[&str])], elsewhere: &[&str], done: &[&str]) -> Readiness {
        let order = edges.iter().map(|(task, _)| (*task).to_owned()).collect();
        let upstream = edges
            .iter()
            .map(|(task, ups)| {
                (
                    (*task).to_owned(),
                    ups.iter().map(|up| (*up).to_owned()).collect(),
                )
            })
            .collect();
        Readiness::new(
            order,
            &upstream,
            &elsewhere.iter().copied().collect(),
            &done.iter().copied().collect(),
        )
    }

    fn take_all(readiness: &mut Readiness) -> Vec<String> {
        std::iter::from_fn(|| readiness.take()).collect()
    }

    #[test]
    fn a_task_is_ready_once_every_upstream_task_has_ended() {
        let mut run = readiness(&[("a", &[]), ("b", &[]), ("c", &["a", "b"])], &[], &[]);
        assert_eq!(take_all(&mut run), ["a", "b"]);
        run.done("a");
        assert_eq!(run.peek(), None);
        run.done("b");
        assert_eq!(take_all(&mut run), ["c"]);
        run.done("c");
        assert_eq!(run.take(), None, "a task is taken once");
    }

    #[test]
    fn a_local_task_starts_on_finishing_upstream_and_a_dispatched_one_waits_for_done() {
        let mut run = readiness(
            &[("a", &[]), ("local", &["a"]), ("remote", &["a"])],
            &["remote"],
            &[],
        );
        assert_eq!(take_all(&mut run), ["a"]);
        run.finishing("a");
        assert_eq!(take_all(&mut run), ["local"]);
        run.done("a");
        assert_eq!(take_all(&mut run), ["remote"]);
    }

    #[test]
    fn ready_tasks_come_in_dependency_order_and_resumed_ones_never() {
        let mut run = readiness(
            &[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])],
            &[],
            &["a", "b"],
        );
        assert_eq!(take_all(&mut run), ["c"], "a and b ended before the resume");
        run.finishing("c");
        run.done("c");
        assert_eq!(
            take_all(&mut run),
            ["d"],
            "counted once though finishing, then done"
        );
    }
}
