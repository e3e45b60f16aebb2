//! A task pod's log, copied into `pod.log` in the task's log directory as it is written.

use std::path::Path;

use futures_util::AsyncReadExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio::io::AsyncWriteExt as _;

use crate::error::{KubernetesError, Result};
use crate::job::CONTAINER;

/// The file a pod's log goes into.
pub const LOG_FILE: &str = "pod.log";

/// Follows pod `pod`'s log into `<dir>/pod.log` until the container ends.
pub async fn copy_log(pods: Api<Pod>, pod: String, dir: &Path) -> Result<()> {
    let io = |path: &Path, source| KubernetesError::Io {
        path: path.display().to_string(),
        source,
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|error| io(dir, error))?;
    let path = dir.join(LOG_FILE);
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|error| io(&path, error))?;
    let params = LogParams {
        container: Some(CONTAINER.to_owned()),
        follow: true,
        ..LogParams::default()
    };
    let stream = pods
        .log_stream(&pod, &params)
        .await
        .map_err(|error| KubernetesError::api(format!("log of pod {pod}"), error))?;
    let mut stream = std::pin::pin!(stream);
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let read = stream
            .read(&mut buffer)
            .await
            .map_err(|error| io(&path, error))?;
        if read == 0 {
            break;
        }
        file.write_all(&buffer[..read])
            .await
            .map_err(|error| io(&path, error))?;
    }
    file.flush().await.map_err(|error| io(&path, error))
}
