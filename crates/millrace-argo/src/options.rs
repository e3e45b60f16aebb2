//! What the export needs beyond the pipeline: the binary, the images, the Secret, the kind.

/// Which manifest to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ManifestKind {
    /// A `Workflow`: one run, submitted as it is (`metadata.generateName`).
    #[default]
    Workflow,
    /// A `WorkflowTemplate`: the pipeline, run by `argo submit --from workflowtemplate/NAME`.
    WorkflowTemplate,
    /// A `CronWorkflow` from the pipeline's schedule.
    CronWorkflow,
}

impl std::str::FromStr for ManifestKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "workflow" => Ok(ManifestKind::Workflow),
            "workflow-template" => Ok(ManifestKind::WorkflowTemplate),
            "cron-workflow" => Ok(ManifestKind::CronWorkflow),
            other => Err(format!(
                "unknown Argo kind `{other}`: expected workflow, workflow-template or cron-workflow"
            )),
        }
    }
}

/// Where the tasks find the binary, the images and the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgoOptions {
    /// The pipeline binary inside the images (the container's command).
    pub binary: String,
    /// The image of nodes without their own `options.image`.
    pub image: Option<String>,
    /// The Secret whose keys `MILLRACE_STORE` and `MILLRACE_ROOT` the tasks read (never inlined).
    pub secret: String,
    /// The namespace of the manifest; `None`: the one it is submitted to.
    pub namespace: Option<String>,
    /// The service account of the workflow's pods; `None`: Argo's default.
    pub service_account: Option<String>,
    /// The manifest's kind.
    pub kind: ManifestKind,
    /// The IANA timezone of a CronWorkflow's schedule (`None`: the schedule's own, else UTC).
    pub timezone: Option<String>,
}

impl ArgoOptions {
    /// Options running `binary`, the store in Secret `millrace`, a `Workflow`, UTC.
    pub fn new(binary: impl Into<String>) -> Self {
        ArgoOptions {
            binary: binary.into(),
            image: None,
            secret: "millrace".to_owned(),
            namespace: None,
            service_account: None,
            kind: ManifestKind::Workflow,
            timezone: None,
        }
    }
}
