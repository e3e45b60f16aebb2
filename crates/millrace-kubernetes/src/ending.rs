//! How a task ended, read from its Job and its pod.
//!
//! | what Kubernetes says | [`TaskEnd`] |
//! |---|---|
//! | the Job failed with reason `DeadlineExceeded` | `Killed("timed out after N s")` |
//! | the pod's `status.reason` is `Evicted` | `Killed("pod P was evicted: ...")` |
//! | the container terminated with reason `OOMKilled` | `Killed("OOMKilled: ...")` |
//! | the container terminated with exit code C | `Exited(C)` |
//! | the container waits with `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`, `ErrImageNeverPull` | `Killed("image I could not be pulled: ...")` (the runner deletes the Job) |

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use millrace_runner::TaskEnd;

use crate::job::CONTAINER;

/// Waiting reasons that mean the image will not come.
const IMAGE_PROBLEMS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// A Job that has finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFinish {
    /// It succeeded.
    Complete,
    /// It failed.
    Failed {
        /// The condition's reason (`DeadlineExceeded`, `BackoffLimitExceeded`...).
        reason: String,
        /// The condition's message.
        message: String,
    },
}

/// Whether `job` has finished, from its conditions.
pub fn job_finish(job: &Job) -> Option<JobFinish> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|condition| condition.status == "True")
        .find_map(|condition| match condition.type_.as_str() {
            "Complete" | "SuccessCriteriaMet" => Some(JobFinish::Complete),
            "Failed" | "FailureTarget" => Some(JobFinish::Failed {
                reason: condition.reason.clone().unwrap_or_default(),
                message: condition.message.clone().unwrap_or_default(),
            }),
            _ => None,
        })
}

fn container_status(pod: &Pod) -> Option<&ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|status| status.name == CONTAINER)
}

/// Whether the pod will not change any more (its phase is `Succeeded` or `Failed`).
pub fn pod_is_finished(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Whether the pod's container has started (its log can be read).
pub fn pod_has_started(pod: &Pod) -> bool {
    pod_is_finished(pod)
        || container_status(pod)
            .and_then(|status| status.state.as_ref())
            .is_some_and(|state| state.running.is_some() || state.terminated.is_some())
}

/// Why the pod's image cannot be pulled, when that is what it waits for.
pub fn image_problem(pod: &Pod) -> Option<String> {
    let status = container_status(pod)?;
    let waiting = status.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref()?;
    IMAGE_PROBLEMS.contains(&reason).then(|| {
        let image = pod
            .spec
            .as_ref()
            .and_then(|spec| spec.containers.first())
            .and_then(|container| container.image.clone())
            .unwrap_or_else(|| status.image.clone());
        match waiting.message.as_deref() {
            Some(message) if !message.is_empty() => {
                format!("image {image} could not be pulled: {reason}: {message}")
            }
            _ => format!("image {image} could not be pulled: {reason}"),
        }
    })
}

/// What the pod says about how the task ended, if it ended.
pub fn pod_end(pod: &Pod) -> Option<TaskEnd> {
    let status = pod.status.as_ref()?;
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    if status.reason.as_deref() == Some("Evicted") {
        return Some(TaskEnd::Killed(format!(
            "pod {name} was evicted: {}",
            status.message.as_deref().unwrap_or("no message")
        )));
    }
    let terminated = container_status(pod)?.state.as_ref()?.terminated.as_ref()?;
    if terminated.reason.as_deref() == Some("OOMKilled") {
        let limit = pod
            .spec
            .as_ref()
            .and_then(|spec| spec.containers.first())
            .and_then(|container| container.resources.as_ref())
            .and_then(|resources| resources.limits.as_ref())
            .and_then(|limits| limits.get("memory"))
            .map(|quantity| format!(" (memory limit {})", quantity.0))
            .unwrap_or_default();
        return Some(TaskEnd::Killed(format!(
            "OOMKilled: pod {name} ran out of memory{limit}"
        )));
    }
    Some(TaskEnd::Exited(terminated.exit_code))
}

/// How the task ended, from its finished Job and the last state of its pod.
pub fn task_end(job: &Job, finish: &JobFinish, pod: Option<&Pod>) -> TaskEnd {
    if let JobFinish::Failed { reason, .. } = finish
        && reason == "DeadlineExceeded"
    {
        let seconds = job
            .spec
            .as_ref()
            .and_then(|spec| spec.active_deadline_seconds)
            .map(|seconds| seconds.to_string())
            .unwrap_or_else(|| "?".to_owned());
        return TaskEnd::Killed(format!("timed out after {seconds} s"));
    }
    if let Some(end) = pod.and_then(pod_end) {
        return end;
    }
    match finish {
        JobFinish::Complete => TaskEnd::Exited(0),
        JobFinish::Failed { reason, message } => {
            TaskEnd::Killed(format!("Job failed: {reason}: {message}"))
        }
    }
}
