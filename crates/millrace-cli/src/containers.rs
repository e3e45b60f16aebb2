//! `image` and `run --containers`: the pipeline's container image, and running its nodes in
//! containers of it (feature `containers`; see `millrace-containers`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use millrace_core::Pipeline;
use millrace_runner::NodeDispatcher;

use crate::command::Location;
use crate::error::CliError;

/// `run`'s options for running nodes in containers.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ContainerRunArgs {
    /// Run each component node in a container of the pipeline's image (podman or docker);
    /// scheduling, retries and the summary stay on this machine.
    #[arg(long, conflicts_with = "on")]
    pub containers: bool,
    /// With --containers: pass this environment variable of this machine into the containers
    /// (repeatable; AWS_*, GOOGLE_*, AZURE_* and MILLRACE_LOG always are).
    #[arg(long = "container-env", value_name = "NAME", requires = "containers")]
    pub env: Vec<String>,
    /// With --containers: also mount this directory at the same path (repeatable; the root,
    /// a SQLite store's directory and the working directory always are).
    #[arg(long = "mount", value_name = "DIR", requires = "containers")]
    pub mounts: Vec<PathBuf>,
}

/// `image ...`
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImageArgs {
    /// Build the image instead of printing its Containerfile.
    #[command(subcommand)]
    pub command: Option<ImageCommand>,
    /// The image to start from (default: a slim Debian whose glibc matches this machine's).
    #[arg(long)]
    pub base: Option<String>,
    /// Write the Containerfile here instead of standard output (a directory gets
    /// `Containerfile`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The Containerfile of the image this node runs in (its own `.image(...)`, or the
    /// pipeline's), with only the Python packages of the nodes that run in that image.
    #[arg(long, conflicts_with = "all")]
    pub node: Option<String>,
    /// One Containerfile per image the nodes run in, into the --out directory: `Containerfile`
    /// for the pipeline's image, `<image>.Containerfile` for each image nodes name (e.g. one per
    /// training framework).
    #[arg(long, requires = "out")]
    pub all: bool,
}

/// `image build`
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build the pipeline's image with podman or docker, from this binary.
    Build {
        /// The image's tag (default: `localhost/<pipeline>:<fingerprint>` with the
        /// fingerprint's first 12 hex digits, what `run --containers` runs).
        #[arg(long)]
        tag: Option<String>,
        /// The image to start from (default: a slim Debian whose glibc matches this machine's).
        #[arg(long)]
        base: Option<String>,
        /// Build the image this node runs in (its own `.image(...)`, which is then the default
        /// tag, or the pipeline's) with only its nodes' Python packages.
        #[arg(long)]
        node: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `image ...`.
#[cfg(feature = "containers")]
pub(crate) async fn image(
    pipeline: &Pipeline,
    args: &ImageArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    use millrace_containers::{BaseImage, Containerfile, ContainerfileOptions, Engine};

    let binary = std::env::current_exe().map_err(CliError::Stdout)?;
    let binary_name = binary
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = match &args.command {
        Some(ImageCommand::Build { base, .. }) => base.as_ref().or(args.base.as_ref()),
        None => args.base.as_ref(),
    };
    let base = match base {
        Some(image) => BaseImage::given(image),
        None => BaseImage::for_host()?,
    };
    let options = ContainerfileOptions::new(base, &binary_name);
    let node = match &args.command {
        Some(ImageCommand::Build { node, .. }) => node.as_ref(),
        None => args.node.as_ref(),
    };
    let node_image = node
        .map(|node| millrace_containers::image_of_node(pipeline, node))
        .transpose()?;
    if args.all && args.command.is_none() {
        let Some(dir) = &args.out else {
            return Err(CliError::Usage("image --all needs --out DIR".to_owned()));
        };
        for image in millrace_containers::node_images(pipeline) {
            let name = image.containerfile_name();
            let containerfile =
                Containerfile::for_pipeline(pipeline, &options.clone().for_image(image))?;
            let path = dir.join(&name);
            crate::command::emit(containerfile.text(), Some(&path), &name, stdout)?;
            crate::render::containerfile_written(pipeline.name(), &path).write(stderr, false)?;
        }
        return Ok(());
    }
    let options = match &node_image {
        Some(image) => options.for_image(image.clone()),
        None => options,
    };
    let containerfile = Containerfile::for_pipeline(pipeline, &options)?;
    match &args.command {
        None => {
            crate::command::emit(
                containerfile.text(),
                args.out.as_deref(),
                "Containerfile",
                stdout,
            )?;
            if let Some(out) = &args.out {
                let path = crate::command::output_path(out, "Containerfile");
                crate::render::containerfile_written(pipeline.name(), &path)
                    .write(stderr, false)?;
            }
        }
        Some(ImageCommand::Build { tag, json, .. }) => {
            let tag = tag
                .clone()
                .or_else(|| node_image.and_then(|image| image.image))
                .unwrap_or_else(|| millrace_containers::default_tag(pipeline));
            let engine = Engine::detect()?;
            // The engine's own output is the progress of the build: it goes to standard error
            // as it comes.
            let built =
                millrace_containers::build_image(&engine, &containerfile, &binary, &tag, stderr)
                    .await;
            crate::render::image_built(&built?).write(stdout, *json)?;
        }
    }
    Ok(())
}

/// Without the `containers` feature, `image` is known but not built in.
#[cfg(not(feature = "containers"))]
pub(crate) async fn image(
    _pipeline: &Pipeline,
    _args: &ImageArgs,
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<(), CliError> {
    Err(CliError::CommandNotBuilt {
        command: "image",
        feature: "containers",
    })
}

/// The dispatcher `run --containers` runs nodes with, or `None` without `--containers`.
#[cfg(feature = "containers")]
pub(crate) async fn dispatcher(
    pipeline: &Pipeline,
    args: &ContainerRunArgs,
    image: Option<&str>,
    location: &Location,
) -> Result<Option<Arc<dyn NodeDispatcher>>, CliError> {
    use millrace_containers::{ContainerDispatcher, ContainerError, Engine, HostAccess};

    if !args.containers {
        return Ok(None);
    }
    let engine = Engine::detect()?;
    let image = image.map_or_else(|| millrace_containers::default_tag(pipeline), str::to_owned);
    if !engine.image_exists(&image).await? {
        return Err(ContainerError::ImageNotBuilt {
            engine: engine.name().to_owned(),
            image,
        }
        .into());
    }
    let mut access = HostAccess::new(&location.store, &location.root)?;
    if let Ok(dir) = std::env::current_dir() {
        access = access.working_dir(dir)?;
    }
    for dir in &args.mounts {
        access = access.mount(dir)?;
    }
    let mut dispatcher = ContainerDispatcher::new(engine, image, access);
    for name in &args.env {
        dispatcher = dispatcher.pass_env(name);
    }
    Ok(Some(Arc::new(dispatcher)))
}

/// Without the `containers` feature, `run --containers` is known but not built in.
#[cfg(not(feature = "containers"))]
pub(crate) async fn dispatcher(
    _pipeline: &Pipeline,
    args: &ContainerRunArgs,
    _image: Option<&str>,
    _location: &Location,
) -> Result<Option<Arc<dyn NodeDispatcher>>, CliError> {
    if args.containers {
        return Err(CliError::CommandNotBuilt {
            command: "run --containers",
            feature: "containers",
        });
    }
    Ok(None)
}
