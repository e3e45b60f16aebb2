//! Publishes and materialises one large artifact through [`ArtifactStorage`], as the launcher
//! does, and prints the times and this process's peak memory as JSON — the Rust side of
//! `benches/peers/s3_transfer.sh`, which runs boto3 beside it on the same server.
//!
//! ```text
//! AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \
//!   cargo run --release -p millrace-storage --example transfer -- s3://bucket/prefix 1024
//! ```

#![allow(clippy::print_stdout)] // The example prints its figures.

use std::io::Write;
use std::time::Instant;

use millrace_storage::ArtifactStorage;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let root = arguments.next().ok_or("usage: transfer ROOT_URL [MIB]")?;
    let mebibytes: u64 = arguments.next().map_or(Ok(1024), |text| text.parse())?;
    let scratch = tempfile::tempdir()?;

    // The artifact: one file of pseudo-random bytes (incompressible), written 8 MiB at a time.
    let staged = scratch.path().join("staged");
    std::fs::create_dir_all(&staged)?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(staged.join("data.bin"))?);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut chunk = vec![0_u8; 8 << 20];
    for _ in 0..mebibytes / 8 {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&chunk)?;
    }
    file.into_inner()?.sync_all()?;
    drop(chunk);
    let rss_before = peak_rss_kib();

    // `PART_MIB` and `IN_FLIGHT` override the default limits, to compare settings.
    let mut limits = millrace_storage::TransferLimits::default();
    if let Some(part) = std::env::var("PART_MIB")
        .ok()
        .and_then(|text| text.parse::<usize>().ok())
    {
        limits.part_size = part << 20;
    }
    if let Some(count) = std::env::var("IN_FLIGHT")
        .ok()
        .and_then(|text| text.parse().ok())
    {
        limits.in_flight = count;
    }
    let storage = ArtifactStorage::open(&root)?
        .with_work_dir(scratch.path().join("work-up"))
        .with_limits(limits);
    let uri = storage.uri(["bench", &format!("{}", std::process::id())]);
    let started = Instant::now();
    let published = storage.publish(&staged, &uri).await?;
    let upload_s = started.elapsed().as_secs_f64();

    // A reader elsewhere: an empty cache, so everything is downloaded and verified.
    let reader = ArtifactStorage::open(&root)?
        .with_work_dir(scratch.path().join("work-down"))
        .with_limits(limits);
    let started = Instant::now();
    let local = reader.materialise(&uri, false).await?;
    let download_s = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(local.join("data.bin"))?.len();
    storage.remove(&uri).await?;

    println!(
        "{}",
        serde_json::json!({
            "client": "millrace",
            "bytes": published.bytes,
            "downloaded_bytes": size,
            "upload_s": upload_s,
            "download_s": download_s,
            "peak_rss_mib": peak_rss_kib() as f64 / 1024.0,
            "rss_before_transfers_mib": rss_before as f64 / 1024.0,
            "part_size_mib": storage.limits().part_size >> 20,
            "in_flight": storage.limits().in_flight,
        })
    );
    Ok(())
}

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
