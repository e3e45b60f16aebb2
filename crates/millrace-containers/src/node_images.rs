//! The images a pipeline's nodes run in, and which nodes run in each.
//!
//! A node runs in its own image when it names one (`.image("…")` on the node, the IR's
//! `options.image`), else in the pipeline's image (`compile --image`, or the default tag of
//! `image build`). Engines (KFP, Argo, Kubernetes) start each task in its node's image, so a
//! pipeline whose trainers name one image per framework — `localhost/lab-tensorflow:1`,
//! `localhost/lab-xgboost:1` — runs each framework in an image holding only that framework.
//! `image --all` writes one Containerfile per [`NodeImage`]; each holds the pipeline binary and
//! the Python packages of the Python nodes that run in it (see [`crate::python`]).
//!
//! ```
//! use millrace_components::CsvExampleGen;
//! use millrace_components::model::{PythonTrainer, Task};
//! use millrace_containers::node_images::{NodeImage, node_images};
//! use millrace_core::prelude::*;
//!
//! let mut builder = Pipeline::builder("images");
//! let examples = builder.add("ingest", CsvExampleGen::new("a.csv")).examples;
//! let trainer = PythonTrainer::xgboost(Task::Regression, "y").on(examples);
//! let trained = builder.add("train", trainer.image("registry/lab-xgboost:1"));
//! # let _ = trained.model;
//! let images = node_images(&builder.build().unwrap());
//! assert_eq!(images[0], NodeImage { image: None, nodes: vec!["ingest".into()] });
//! assert_eq!(images[1].image.as_deref(), Some("registry/lab-xgboost:1"));
//! assert_eq!(images[1].containerfile_name(), "registry_lab-xgboost_1.Containerfile");
//! //! ```

use std::collections::BTreeMap;

use millrace_core::Pipeline;
use millrace_core::spec::TaskSpec;

use crate::error::Result;

/// One image and the nodes that run in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImage {
    /// The image the nodes name; `None` for the pipeline's own image (nodes that name none).
    pub image: Option<String>,
    /// The component nodes that run in it, in execution order.
    pub nodes: Vec<String>,
}

impl NodeImage {
    /// The file `image --all` writes its Containerfile to: `Containerfile` for the pipeline's
    /// image, `<image>.Containerfile` for a node image, with every character other than ASCII
    /// letters, digits, `.`, `-` and `_` replaced by `_` (`registry/lab-tf:1` →
    /// `registry_lab-tf_1.Containerfile`).
    pub fn containerfile_name(&self) -> String {
        match &self.image {
            None => "Containerfile".to_owned(),
            Some(image) => {
                let safe: String = image
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{}.Containerfile", safe.trim_start_matches('.'))
            }
        }
    }
}

/// Every image `pipeline`'s component nodes run in: the pipeline's own first (when any node
/// runs in it), then each named image in the order its first node runs.
pub fn node_images(pipeline: &Pipeline) -> Vec<NodeImage> {
    let mut pipeline_image = Vec::new();
    let mut named: Vec<NodeImage> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for node in pipeline.nodes_in_order() {
        if !matches!(node.task, TaskSpec::Component { .. }) {
            continue;
        }
        match &node.options.image {
            None => pipeline_image.push(node.id.clone()),
            Some(image) => match index.get(image) {
                Some(&at) => named[at].nodes.push(node.id.clone()),
                None => {
                    index.insert(image.clone(), named.len());
                    named.push(NodeImage {
                        image: Some(image.clone()),
                        nodes: vec![node.id.clone()],
                    });
                }
            },
        }
    }
    let mut images = Vec::new();
    if !pipeline_image.is_empty() {
        images.push(NodeImage {
            image: None,
            nodes: pipeline_image,
        });
    }
    images.extend(named);
    images
}

/// The image node `id` runs in, with every node that shares it; an unknown node is an error
/// that lists the pipeline's nodes.
pub fn image_of_node(pipeline: &Pipeline, id: &str) -> Result<NodeImage> {
    let node = pipeline.node(id)?;
    let wanted = node.options.image.clone();
    Ok(node_images(pipeline)
        .into_iter()
        .find(|image| image.image == wanted)
        .unwrap_or(NodeImage {
            image: wanted,
            nodes: vec![id.to_owned()],
        }))
}
