//! # millrace-containers
//!
//! Pipelines in containers, with podman or docker: the image of a pipeline binary, and a
//! dispatcher that runs each component node's attempt as `run-node` in a container while the
//! [`LocalRunner`](millrace_runner::LocalRunner) schedules on the host.
//!
//! | step | what | where |
//! |---|---|---|
//! | choose the engine | podman, else docker, from `PATH` (or [`ENGINE_VARIABLE`]) | [`engine`] |
//! | choose the base | a slim Debian whose glibc runs the binary, or `--base` | [`base_image`] |
//! | write the Containerfile | the binary, Python when nodes need it, a non-root user | [`containerfile`], [`python`] |
//! | one image per node group | nodes naming their own image (one per framework) get a Containerfile each | [`mod@node_images`] |
//! | build the image | `<engine> build --network host` on a temporary context | [`build`] |
//! | run the nodes | `<engine> run --rm --pull never …` per attempt, the root and store mounted | [`dispatcher`], [`host_access`] |
//!
//! The Containerfile of a pipeline binary, for a base chosen by hand:
//!
//! ```
//! use millrace_containers::{BaseImage, Containerfile, ContainerfileOptions};
//! use millrace_core::prelude::*;
//!
//! let mut builder = Pipeline::builder("greetings");
//! let schema = builder.import("schema", Importer::<Schema>::new("data/schema.json"));
//! # let _ = schema.result;
//! let pipeline = builder.build().unwrap();
//! let options = ContainerfileOptions::new(BaseImage::given("debian:bookworm-slim"), "greetings");
//! let containerfile = Containerfile::for_pipeline(&pipeline, &options)?;
//! assert!(containerfile.text().contains("FROM debian:bookworm-slim\n"));
//! assert!(containerfile.text().contains("USER millrace\n"));
//! assert!(containerfile.text().ends_with("ENTRYPOINT [\"/usr/local/bin/greetings\"]\n"));
//! # Ok::<(), millrace_containers::ContainerError>(())
//! ```
//!
//! Running a pipeline with every component node in a container of its image (what
//! `run --containers` does):
//!
//! ```no_run
//! # use millrace_core::prelude::*;
//! # async fn example(pipeline: Pipeline) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use millrace_containers::{ContainerDispatcher, Engine, HostAccess};
//! use millrace_runner::LocalRunner;
//!
//! let (store_url, root) = ("sqlite://.millrace/metadata.sqlite", ".millrace/artifacts");
//! let engine = Engine::detect()?;
//! let access = HostAccess::new(store_url, root)?.working_dir(std::env::current_dir()?)?;
//! let dispatcher = ContainerDispatcher::new(engine, "localhost/greetings:0123456789ab", access);
//! let store = millrace_metadata::connect(store_url).await?;
//! let summary = LocalRunner::new(store, root)
//!     .dispatcher(Arc::new(dispatcher))
//!     .run(&pipeline, pipeline.parameter_values(&Default::default())?)
//!     .await?;
//! assert!(summary.succeeded);
//! # Ok(())
//! # }
//! ```
//!
//! Podman on a machine with unusual kernel settings (cgroup v1 in hybrid mode, no permission
//! to raise rlimits) is configured in its own `containers.conf` (`CONTAINERS_CONF`), never by
//! Millrace: see `docs/runners/containers.md`.

pub mod base_image;
pub mod build;
pub mod containerfile;
pub mod dispatcher;
pub mod engine;
mod error;
pub mod host_access;
pub mod node_images;
pub mod python;

pub use base_image::{BaseImage, GlibcVersion};
pub use build::{BuiltImage, build_image};
pub use containerfile::{Containerfile, ContainerfileOptions};
pub use dispatcher::ContainerDispatcher;
pub use engine::{ENGINE_VARIABLE, Engine, EngineKind};
pub use error::{ContainerError, Result};
pub use host_access::HostAccess;
pub use node_images::{NodeImage, image_of_node, node_images};

/// The default tag of a pipeline's image: `localhost/<pipeline>:<first 12 hex digits of its
/// fingerprint>`, so that a changed pipeline never runs in an image of its older build.
pub fn default_tag(pipeline: &millrace_core::Pipeline) -> String {
    let name: String = pipeline
        .name()
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "localhost/{}:{}",
        name.trim_matches(|c: char| !c.is_ascii_alphanumeric()),
        &pipeline.fingerprint().to_hex()[..12]
    )
}
