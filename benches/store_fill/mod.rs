//! Fills a metadata store with many runs of a real pipeline — for the benchmarks of stores that
//! must stay fast as they grow.
//!
//! A [`Template`] records three real runs of a pipeline write by write, through a store that
//! keeps every write it is asked for ([`recorder`]): the first run, a run on new data and a
//! rerun served from the cache. A [`Fill`] then writes those runs again and again into the
//! store to fill — the first once, then a run on new data followed by reruns, as long as asked —
//! through the store's public write API, each time with the ids the store gives and new run ids,
//! cache keys and artifact paths ([`rewrite`]): every record a real run makes, none made up.
//!
//! ```ignore
//! let template = Arc::new(Template::record(&pipeline, scratch, || add_a_span()).await?);
//! let fill = Fill { runs: 100_000, reruns_per_new_data: 1, lanes: 1, root, link_files: true };
//! let filled = fill.write_into(&store, &template).await?;
//! ```

pub mod recorder;
pub mod replay;
pub mod rewrite;
pub mod template;

pub use replay::Fill;
pub use template::Template;
