//! The Containerfile of a pipeline's image: what it starts from, what it holds, whom it runs as.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly.

use millrace_components::CsvExampleGen;
use millrace_components::model::{PythonTrainer, Task};
use millrace_containers::{BaseImage, Containerfile, ContainerfileOptions, GlibcVersion};
use millrace_core::prelude::*;

/// A pipeline of in-process components only.
fn rust_only() -> Pipeline {
    let mut p = Pipeline::builder("ingest");
    p.add("example_gen", CsvExampleGen::new("trips.csv"));
    p.build().unwrap()
}

/// A pipeline whose trainers run Python: one XGBoost, one scikit-learn.
fn with_python_trainers() -> Pipeline {
    let mut p = Pipeline::builder("forest");
    let examples = p
        .add("example_gen", CsvExampleGen::new("trips.csv"))
        .examples;
    p.add(
        "boosted",
        PythonTrainer::xgboost(Task::Regression, "fare").on(examples),
    );
    p.add(
        "forest",
        PythonTrainer::scikit_learn("random_forest_regressor", Task::Regression, "fare")
            .on(examples),
    );
    p.build().unwrap()
}

fn containerfile(pipeline: &Pipeline, base: &str) -> String {
    let options = ContainerfileOptions::new(BaseImage::given(base), "forest-binary");
    Containerfile::for_pipeline(pipeline, &options)
        .unwrap()
        .text()
        .to_owned()
}

#[test]
fn a_pipeline_without_python_nodes_gets_its_binary_a_user_and_nothing_else() {
    let pipeline = rust_only();
    let fingerprint = pipeline.fingerprint().to_hex();
    let text = containerfile(&pipeline, "localhost/debian:bookworm-slim")
        .replace(&fingerprint, "<fingerprint>")
        .replace(&fingerprint[..12], "<fingerprint12>");
    assert_eq!(
        text,
        r#"# The image of the Millrace pipeline `ingest` (fingerprint <fingerprint12>), written by `forest-binary image`.
# Build it with `forest-binary image build`; `forest-binary run --containers` runs each node in it.
#
# Base: localhost/debian:bookworm-slim: given with --base.
FROM localhost/debian:bookworm-slim

# The user the pipeline runs as: not root.
RUN groupadd --gid 10001 millrace \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin millrace

COPY forest-binary /usr/local/bin/forest-binary
LABEL io.millrace.pipeline="ingest" io.millrace.fingerprint="<fingerprint>"
USER millrace
WORKDIR /home/millrace
ENTRYPOINT ["/usr/local/bin/forest-binary"]
"#
    );
}

#[test]
fn the_image_runs_as_a_non_root_user_with_the_binary_as_its_entrypoint() {
    for pipeline in [rust_only(), with_python_trainers()] {
        let text = containerfile(&pipeline, "debian:bookworm-slim");
        assert!(text.contains("useradd --uid 10001"), "{text}");
        let user = text.find("\nUSER millrace\n").expect("a USER line");
        let copy = text
            .find("\nCOPY forest-binary /usr/local/bin/forest-binary\n")
            .expect("the binary copied in");
        let entrypoint = text
            .find("\nENTRYPOINT [\"/usr/local/bin/forest-binary\"]")
            .expect("the binary as entrypoint");
        assert!(copy < user && user < entrypoint, "{text}");
        // Nothing runs as root after USER.
        assert!(!text[user..].contains("\nRUN "), "{text}");
    }
}

#[test]
fn python_trainers_get_python_a_venv_and_their_frameworks_pinned() {
    let text = containerfile(&with_python_trainers(), "debian:bookworm-slim");
    assert!(
        text.contains("# Python for the nodes boosted (xgboost), forest (sklearn).\n"),
        "{text}"
    );
    assert!(
        text.contains("apt-get install --yes --no-install-recommends python3 python3-venv"),
        "{text}"
    );
    assert!(
        text.contains("RUN python3 -m venv /opt/millrace/venv"),
        "{text}"
    );
    assert!(
        text.contains("ENV PATH=/opt/millrace/venv/bin:$PATH\n"),
        "{text}"
    );
    for pin in [
        "numpy==2.4.6",
        "pyarrow==26.0.1",
        "xgboost-cpu==3.2.0",
        "scikit-learn==1.9.1",
        "joblib==1.6.0",
    ] {
        assert!(
            text.contains(&format!("        {pin}")),
            "{pin} missing:\n{text}"
        );
    }
    assert!(!text.contains("torch"), "only the frameworks used:\n{text}");
    // Python is installed before the binary is copied: a new build of the binary reuses the
    // engine's cached Python layers.
    assert!(text.find("python3-venv").unwrap() < text.find("\nCOPY ").unwrap());
}

#[test]
fn a_python_interpreter_given_as_a_host_path_is_pointed_out() {
    let mut p = Pipeline::builder("venv");
    let examples = p
        .add("example_gen", CsvExampleGen::new("trips.csv"))
        .examples;
    p.add(
        "trainer",
        PythonTrainer::xgboost(Task::Regression, "fare")
            .python("/home/me/.venv/bin/python")
            .on(examples),
    );
    let text = containerfile(&p.build().unwrap(), "debian:bookworm-slim");
    assert!(
        text.contains("# Note: node `trainer` runs `/home/me/.venv/bin/python`"),
        "{text}"
    );
}

#[test]
fn python_packages_given_by_the_user_replace_the_pins() {
    let mut options = ContainerfileOptions::new(BaseImage::given("debian:trixie-slim"), "forest");
    options.python_packages = Some(vec!["xgboost==2.1.4".to_owned(), "pyarrow".to_owned()]);
    let text = Containerfile::for_pipeline(&with_python_trainers(), &options)
        .unwrap()
        .text()
        .to_owned();
    assert!(
        text.contains("        xgboost==2.1.4 \\\n        pyarrow\n"),
        "{text}"
    );
    assert!(!text.contains("scikit-learn"), "{text}");
}

#[test]
fn the_default_base_is_the_debian_whose_glibc_runs_binaries_built_here() {
    let host = GlibcVersion::of_host().unwrap();
    let base = BaseImage::for_host().unwrap();
    assert_eq!(base, BaseImage::for_glibc(host).unwrap());
    let text = containerfile_with(&rust_only(), base.clone());
    assert!(text.contains(&format!("\nFROM {}\n", base.image)), "{text}");
    assert!(
        text.contains(&format!("this machine's glibc {host}")),
        "the file says why:\n{text}"
    );
    if host
        == (GlibcVersion {
            major: 2,
            minor: 36,
        })
    {
        assert_eq!(base.image, "debian:bookworm-slim");
    }
}

fn containerfile_with(pipeline: &Pipeline, base: BaseImage) -> String {
    Containerfile::for_pipeline(pipeline, &ContainerfileOptions::new(base, "forest-binary"))
        .unwrap()
        .text()
        .to_owned()
}

#[test]
fn the_same_pipeline_gives_the_same_file_every_time() {
    let first = containerfile(&with_python_trainers(), "debian:bookworm-slim");
    let second = containerfile(&with_python_trainers(), "debian:bookworm-slim");
    assert_eq!(first, second);
}

/// Trainers of three frameworks, each with its framework's image, beside an ingestion node in
/// the pipeline's image.
fn one_image_per_framework() -> Pipeline {
    let mut p = Pipeline::builder("lab");
    let examples = p
        .add("example_gen", CsvExampleGen::new("trips.csv"))
        .examples;
    for (id, trainer) in [
        (
            "sklearn_trainer",
            PythonTrainer::scikit_learn("ridge", Task::Regression, "fare"),
        ),
        (
            "xgboost_trainer",
            PythonTrainer::xgboost(Task::Regression, "fare"),
        ),
        (
            "tensorflow_trainer",
            PythonTrainer::tensorflow(Task::Regression, "fare"),
        ),
    ] {
        let image = trainer.framework.image("localhost/lab", "1");
        p.add(id, trainer.on(examples).image(image));
    }
    p.build().unwrap()
}

#[test]
fn each_framework_image_pins_its_framework_and_no_other() {
    use millrace_containers::{NodeImage, node_images};

    let pipeline = one_image_per_framework();
    let images = node_images(&pipeline);
    let listed: Vec<(Option<&str>, Vec<&str>)> = images
        .iter()
        .map(|image| {
            (
                image.image.as_deref(),
                image.nodes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (None, vec!["example_gen"]),
            (Some("localhost/lab-sklearn:1"), vec!["sklearn_trainer"]),
            (Some("localhost/lab-xgboost:1"), vec!["xgboost_trainer"]),
            (
                Some("localhost/lab-tensorflow:1"),
                vec!["tensorflow_trainer"]
            ),
        ]
    );
    let text_of = |image: &NodeImage| {
        let options = ContainerfileOptions::new(BaseImage::given("debian:bookworm-slim"), "lab")
            .for_image(image.clone());
        Containerfile::for_pipeline(&pipeline, &options)
            .unwrap()
            .text()
            .to_owned()
    };
    let pins = [
        ("sklearn", "scikit-learn==1.9.1"),
        ("xgboost", "xgboost-cpu==3.2.0"),
        ("tensorflow", "tensorflow-cpu==2.21.0"),
    ];
    for image in &images[1..] {
        let text = text_of(image);
        let tag = image.image.as_deref().unwrap();
        assert!(
            text.starts_with(&format!("# `{tag}`: the image of the nodes ")),
            "{text}"
        );
        assert!(text.contains("\nFROM debian:bookworm-slim\n"), "{text}");
        assert!(text.contains("        pyarrow==26.0.1"), "{text}");
        for (framework, pin) in pins {
            assert_eq!(
                text.contains(pin),
                tag.contains(&format!("-{framework}:")),
                "{pin} in the image {tag}:\n{text}"
            );
        }
        assert!(!text.contains("torch"), "{text}");
    }
    let tensorflow = text_of(&images[3]);
    assert!(tensorflow.contains("        keras==3.15.1"), "{tensorflow}");
    assert_eq!(
        images[3].containerfile_name(),
        "localhost_lab-tensorflow_1.Containerfile"
    );
    // The pipeline's own image holds the binary and no Python: no node in it runs Python.
    let own = text_of(&images[0]);
    assert!(own.starts_with("# The pipeline's own image: the image of the nodes example_gen"));
    assert!(!own.contains("python3"), "{own}");
    assert!(
        own.ends_with("ENTRYPOINT [\"/usr/local/bin/lab\"]\n"),
        "{own}"
    );
}

#[test]
fn the_image_of_an_unknown_node_is_an_error_naming_it() {
    let error = millrace_containers::image_of_node(&one_image_per_framework(), "no_such_node")
        .unwrap_err()
        .to_string();
    assert!(error.contains("no_such_node"), "{error}");
}
