//! The Chicago taxi continuous-training pipeline of the course: fare regression on the real
//! trip data, pushed to a versioned serving directory only when it is good enough.
//!
//! ingest → statistics → schema → validate (against the schema and the previous span) →
//! transform → train (a random forest on the transformed trips) → evaluate on the eval split
//! (blessed when the RMSE is below the `rmse_max` runtime parameter, default 10, and not worse
//! than the model registry's `taxi@champion`) → infra-validate → push, and register: every
//! evaluated model becomes a version of `taxi`; a blessed one takes the alias `champion`.
//!
//! ```text
//! cargo run --release --example taxi                       # runs it: the README's main job
//! cargo run --release --example taxi                       # again: every node cached
//! cargo run --release --example taxi -- run --param rmse_max=5 --param max_depth=4
//! TAXI_DATA='trips/span-{SPAN}/*.csv' cargo run --release --example taxi   # the latest span
//! cargo run --release --example taxi -- artifacts list --type ModelEvaluation
//! cargo run --release --example taxi -- runs compare RUN_A RUN_B   # parameters and RMSE
//! cargo run --release --example taxi -- models show taxi          # versions, champion
//! cargo run --release --example taxi -- serve                     # the web UI on 127.0.0.1:5000
//! TAXI_DATA='trips/span-{SPAN}/*.csv' TAXI_SCHEDULE='0 6 * * *' \
//!   cargo run --release --example taxi -- serve   # runs daily at 06:00 UTC and on each new span
//! ```
//!
//! The run's summary says where the model went (`pusher ... pushed version N to ...`);
//! `TAXI_SERVING` chooses the serving directory (default `serving/taxi`). Reports:
//! `statistics.html`, `anomalies.html` and `evaluation.html` in their artifacts' directories.

mod pipeline;

use pipeline::pipeline;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // With no arguments, run the pipeline: `cargo run --release --example taxi`.
    let options = millrace::cli::Options::default().when_no_arguments(["run"]);
    millrace::cli::main_with(pipeline, options).await
}
