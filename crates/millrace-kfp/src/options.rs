//! What the compiled pipeline needs to know about where it runs.

/// Where the tasks find the binary, the image, the metadata store and the artifacts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KfpOptions {
    /// The pipeline binary inside the images (the container's command).
    pub binary: String,
    /// The image of nodes without one of their own (`options.image`).
    pub image: Option<String>,
    /// The metadata store URL, written as the tasks' `MILLRACE_STORE`; `None`: the environment
    /// of the job gives it (on Vertex, the job's environment or a secret). A URL with a
    /// password is refused ([`crate::KfpError::SecretInOption`]): the YAML is not secret.
    pub store: Option<String>,
    /// The artifact root, written as `MILLRACE_ROOT` and as the IR's `defaultPipelineRoot`;
    /// `None`: the job's environment gives it (and the pipeline's own root, when it is an
    /// object-store URL, is the `defaultPipelineRoot`).
    pub root: Option<String>,
    /// The Vertex AI accelerator type of nodes that ask for GPUs (such as `NVIDIA_TESLA_T4`);
    /// `None`: `nvidia.com/gpu`, what KFP on Kubernetes expects.
    pub accelerator_type: Option<String>,
}

impl KfpOptions {
    /// Options running `binary` inside each node's image.
    pub fn new(binary: impl Into<String>) -> Self {
        KfpOptions {
            binary: binary.into(),
            ..KfpOptions::default()
        }
    }

    /// The image of nodes without one of their own.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// The metadata store URL the tasks use (no credentials: see [`KfpOptions::store`]).
    pub fn store(mut self, store: impl Into<String>) -> Self {
        self.store = Some(store.into());
        self
    }

    /// The artifact root, also the pipeline root.
    pub fn root(mut self, root: impl Into<String>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// The Vertex AI accelerator type of GPU nodes.
    pub fn accelerator_type(mut self, accelerator: impl Into<String>) -> Self {
        self.accelerator_type = Some(accelerator.into());
        self
    }
}
