//! Retrying API requests that may succeed later: 429 (too many requests), 500, 502, 503, 504,
//! and lost connections, with a doubling wait.

use std::future::Future;
use std::time::Duration;

use crate::config::KubernetesConfig;
use crate::error::{KubernetesError, Result};

/// The longest wait between two tries.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Whether a request that failed with `error` may succeed if made again.
pub fn is_transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => true,
        _ => false,
    }
}

/// The waits between tries: the config's first wait, doubling up to 10 s, as many as its
/// `api_retries`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    left: u32,
}

impl Backoff {
    pub(crate) fn new(config: &KubernetesConfig) -> Self {
        Backoff {
            next: Duration::from_millis(config.api_backoff_ms),
            left: config.api_retries,
        }
    }

    /// Waits before the next try; `false` (without waiting) when no try is left.
    pub(crate) async fn wait(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(MAX_WAIT);
        true
    }
}

/// Makes the request `call` makes until it succeeds, fails for good, or the retries are used
/// up; `action` says what it was, for the error.
pub(crate) async fn retrying<T, F, Fut>(
    config: &KubernetesConfig,
    action: impl Fn() -> String,
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    let mut backoff = Backoff::new(config);
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if is_transient(&error) => {
                tracing::warn!(action = %action(), %error, "Kubernetes API request failed; trying again");
                if !backoff.wait().await {
                    return Err(KubernetesError::api(action(), error));
                }
            }
            Err(error) => return Err(KubernetesError::api(action(), error)),
        }
    }
}
