//! The layout of a pipeline root cannot be talked out of it: whatever pipeline name, task id or
//! output name it is given, every path it makes is under the root (or the working directory),
//! and `Layout::check` refuses the parts that are not one path segment.

#![allow(clippy::unwrap_used, clippy::panic)] // Tests fail loudly.

use std::path::{Component, Path};

use millrace_runner::{ArtifactStorage, Layout, RunnerError};

const HOSTILE: &[&str] = &[
    "..",
    ".",
    "",
    "/etc",
    "../../etc",
    "a/../../b",
    "nul\0byte",
    "back\\slash",
    ".logs",
];

fn assert_under(path: &Path, root: &Path) {
    assert!(
        path.starts_with(root),
        "{} is not under {}",
        path.display(),
        root.display()
    );
    let rest = path.strip_prefix(root).unwrap();
    assert!(
        rest.components()
            .all(|part| matches!(part, Component::Normal(_))),
        "{} climbs",
        path.display()
    );
}

#[test]
fn no_part_given_to_the_layout_leads_out_of_a_local_root() {
    let root = Path::new("/srv/millrace/artifacts");
    for pipeline in HOSTILE.iter().chain(&["taxi"]) {
        let layout = Layout::new(&ArtifactStorage::local(root), pipeline);
        for part in HOSTILE {
            for (node, output) in [(*part, "model"), ("trainer", *part), (*part, *part)] {
                assert_under(Path::new(&layout.output(node, output, 7)), root);
                assert_under(&layout.staging(node, output, 7), root);
                assert_under(&layout.logs(node, 7), root);
                assert_under(&layout.task_logs(node, part), root);
                let template = layout.output_template(node, output);
                assert_under(Path::new(&template), root);
            }
        }
    }
}

#[test]
fn no_part_given_to_the_layout_leads_out_of_an_object_root() {
    let storage = ArtifactStorage::open("memory://layout/root")
        .unwrap()
        .with_work_dir("/srv/work");
    let layout = Layout::new(&storage, "..");
    for part in HOSTILE {
        let uri = layout.output(part, part, 3);
        let key = uri.strip_prefix("memory://layout/root/").unwrap();
        assert!(
            key.split('/')
                .all(|segment| !matches!(segment, "" | "." | "..")),
            "{uri}"
        );
        assert_eq!(key.split('/').count(), 4, "{uri}");
        assert_under(&layout.staging(part, part, 3), Path::new("/srv/work"));
    }
}

#[test]
fn the_layout_refuses_parts_that_are_not_one_segment() {
    let layout = Layout::new(&ArtifactStorage::local("/srv/root"), "taxi");
    layout.check("trainer", "model").unwrap();
    layout.check("trainer.shard-3", "examples").unwrap();
    for part in HOSTILE {
        match layout.check(part, "model") {
            Err(RunnerError::InvalidNode { reason, .. }) => {
                assert!(reason.contains("node id"), "{reason}");
            }
            other => panic!("{part:?}: {other:?}"),
        }
        assert!(layout.check("trainer", part).is_err(), "{part:?}");
    }
    let bad_pipeline = Layout::new(&ArtifactStorage::local("/srv/root"), "../up");
    assert!(bad_pipeline.check("trainer", "model").is_err());
}
