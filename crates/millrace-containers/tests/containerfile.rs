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
