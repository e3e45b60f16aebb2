//! The Containerfile of a pipeline binary's image.
//!
//! The image holds the binary and what its command nodes run (Python, when the pipeline has
//! Python command nodes: see [`crate::python`]), and runs the binary as a non-root user:
//!
//! ```text
//! FROM <base>                           a slim Debian matching the host's glibc, or --base
//! RUN apt-get … python3 python3-venv    only when a node runs Python, with pinned packages
//! RUN groupadd … && useradd …           the user millrace, uid 10001
//! COPY <binary> /usr/local/bin/<binary>
//! LABEL io.millrace.pipeline=… io.millrace.fingerprint=…
//! USER millrace
//! ENTRYPOINT ["/usr/local/bin/<binary>"]
//! ```
//!
//! The text depends only on the pipeline and the options (no dates, no host paths), so the same
//! binary gives the same file, and an engine's layer cache reuses everything but the binary's
//! layer when only the code changed.

use std::fmt::Write as _;

use millrace_core::Pipeline;

use crate::base_image::BaseImage;
use crate::error::Result;
use crate::node_images::NodeImage;
use crate::python::{PythonNode, pinned_packages, python_nodes};

/// The non-root user the image runs as.
pub const USER_NAME: &str = "millrace";

/// Its user and group id (above the ranges distributions allocate, and the same in every image).
pub const USER_ID: u32 = 10001;

/// Where the binary goes in the image.
pub const BINARY_DIR: &str = "/usr/local/bin";

/// The Python virtual environment of images with Python nodes (first on `PATH`).
pub const PYTHON_VENV: &str = "/opt/millrace/venv";

/// How to write a Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerfileOptions {
    /// The image to start from.
    pub base: BaseImage,
    /// The binary's file name in the build context and in the image (`hello`, `taxi`).
    pub binary_name: String,
    /// The Python packages to install instead of the ones the nodes need (see
    /// [`crate::python`]); only used when the pipeline has Python nodes.
    pub python_packages: Option<Vec<String>>,
    /// The image of some nodes only (`image --node`, `image --all`): only their Python needs
    /// count, and the header names the image and its nodes. `None`: the one image of every node.
    pub image: Option<NodeImage>,
}

impl ContainerfileOptions {
    /// Options for `binary_name` on `base`, with the Python packages the nodes need.
    pub fn new(base: BaseImage, binary_name: &str) -> Self {
        ContainerfileOptions {
            base,
            binary_name: safe_file_name(binary_name),
            python_packages: None,
            image: None,
        }
    }

    /// The options for the image of these nodes only.
    pub fn for_image(mut self, image: NodeImage) -> Self {
        self.image = Some(image);
        self
    }
}

/// A Containerfile (Dockerfile syntax) for a pipeline binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    text: String,
    binary_name: String,
    python_nodes: Vec<PythonNode>,
}

impl Containerfile {
    /// The Containerfile of `pipeline`'s binary.
    pub fn for_pipeline(pipeline: &Pipeline, options: &ContainerfileOptions) -> Result<Self> {
        let binary_name = safe_file_name(&options.binary_name);
        let mut python = python_nodes(pipeline)?;
        if let Some(image) = &options.image {
            python.retain(|node| image.nodes.contains(&node.node));
        }
        let fingerprint = pipeline.fingerprint().to_hex();
        let binary = format!("{BINARY_DIR}/{binary_name}");
        let mut text = String::new();
        if let Some(image) = &options.image {
            let name = match &image.image {
                Some(tag) => format!("`{tag}`"),
                None => "The pipeline's own image".to_owned(),
            };
            let _ = writeln!(
                text,
                "# {name}: the image of the nodes {} (`{binary_name} image --all`).",
                image.nodes.join(", ")
            );
        }
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "# The image of the Millrace pipeline `{}` (fingerprint {}), written by `{binary_name} \
             image`.\n# Build it with `{binary_name} image build`; `{binary_name} run --containers` \
             runs each node in it.\n#\n# Base: {}: {}.\nFROM {}\n",
            pipeline.name(),
            &fingerprint[..12],
            options.base.image,
            options.base.reason,
            options.base.image,
        );
        if !python.is_empty() {
            write_python(&mut text, &python, options.python_packages.as_deref());
        }
        let _ = writeln!(
            text,
            "# The user the pipeline runs as: not root.\n\
             RUN groupadd --gid {USER_ID} {USER_NAME} \\\n    \
             && useradd --uid {USER_ID} --gid {USER_ID} --create-home --shell /usr/sbin/nologin \
             {USER_NAME}\n\n\
             COPY {binary_name} {binary}\n\
             LABEL io.millrace.pipeline={} io.millrace.fingerprint=\"{fingerprint}\"\n\
             USER {USER_NAME}\n\
             WORKDIR /home/{USER_NAME}\n\
             ENTRYPOINT [{}]",
            json_string(pipeline.name()),
            json_string(&binary),
        );
        Ok(Containerfile {
            text,
            binary_name,
            python_nodes: python,
        })
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The binary's file name, which the build context must hold.
    pub fn binary_name(&self) -> &str {
        &self.binary_name
    }

    /// The nodes that made the image get Python.
    pub fn python_nodes(&self) -> &[PythonNode] {
        &self.python_nodes
    }
}

/// The Python part: Debian's python3 with venv, and the pinned packages in a venv first on
/// `PATH`.
fn write_python(text: &mut String, nodes: &[PythonNode], packages: Option<&[String]>) {
    let listed: Vec<String> = nodes
        .iter()
        .map(|node| match node.frameworks.as_slice() {
            [] => node.node.clone(),
            frameworks => format!("{} ({})", node.node, frameworks.join(", ")),
        })
        .collect();
    let _ = writeln!(text, "# Python for the nodes {}.", listed.join(", "));
    for node in nodes.iter().filter(|node| node.names_a_host_path()) {
        let _ = writeln!(
            text,
            "# Note: node `{}` runs `{}`, a path on the machine that built the pipeline; the \
             image has `python3` on PATH.",
            node.node, node.program
        );
    }
    let packages = packages.map_or_else(|| pinned_packages(nodes), <[String]>::to_vec);
    let _ = writeln!(
        text,
        "RUN apt-get update \\\n    \
         && DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends python3 \
         python3-venv \\\n    \
         && rm -rf /var/lib/apt/lists/*"
    );
    let _ = write!(text, "RUN python3 -m venv {PYTHON_VENV}");
    if !packages.is_empty() {
        let _ = write!(
            text,
            " \\\n    && {PYTHON_VENV}/bin/pip install --no-cache-dir"
        );
        for package in &packages {
            let _ = write!(text, " \\\n        {package}");
        }
    }
    let _ = writeln!(text, "\nENV PATH={PYTHON_VENV}/bin:$PATH\n");
}

/// `name` reduced to what a Containerfile's COPY and a file system take without quoting.
fn safe_file_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    if safe.is_empty() || safe.starts_with('.') {
        "pipeline".to_owned()
    } else {
        safe
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_names_are_reduced_to_safe_file_names() {
        assert_eq!(safe_file_name("taxi"), "taxi");
        assert_eq!(safe_file_name("my pipeline"), "mypipeline");
        assert_eq!(safe_file_name("../.."), "pipeline");
    }
}
