//! Following objects without missing a change: list them, then watch from the list's
//! `resourceVersion`; a watch that ends is started again from the last version seen, and one
//! whose version is too old (`410 Gone`, as an HTTP status or a watch event) lists again: the
//! objects' current states then say what the lost events would have.

use std::fmt::Debug;

use futures_util::StreamExt as _;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::core::Resource;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::config::KubernetesConfig;
use crate::error::{KubernetesError, Result};
use crate::retry::{Backoff, is_transient, retrying};

/// How long one watch request lasts at most before it is made again, in seconds (the API
/// server ends it then).
const WATCH_SECONDS: u32 = 290;

/// One observation of an object.
#[derive(Debug, Clone)]
pub enum Observed<K> {
    /// Its state now (listed, added or modified).
    Present(K),
    /// It was deleted.
    Deleted(K),
}

/// Which objects to follow.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A label selector.
    pub labels: Option<String>,
    /// A field selector (`metadata.name=...`).
    pub fields: Option<String>,
}

impl Selection {
    fn list_params(&self) -> ListParams {
        ListParams {
            label_selector: self.labels.clone(),
            field_selector: self.fields.clone(),
            ..ListParams::default()
        }
    }

    fn watch_params(&self) -> WatchParams {
        WatchParams {
            label_selector: self.labels.clone(),
            field_selector: self.fields.clone(),
            timeout: Some(WATCH_SECONDS),
            bookmarks: true,
            ..WatchParams::default()
        }
    }
}

fn gone(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 410)
}

/// Sends every state of the selected objects to `sender` until it is closed; an error that
/// retries did not cure is sent last.
pub async fn observe<K>(
    api: Api<K>,
    selection: Selection,
    config: KubernetesConfig,
    sender: mpsc::Sender<Result<Observed<K>>>,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
{
    if let Err(error) = follow(&api, &selection, &config, &sender).await {
        let _ = sender.send(Err(error)).await;
    }
}

/// Lists and watches; returns when the receiver is gone (`Ok`) or on an error.
async fn follow<K>(
    api: &Api<K>,
    selection: &Selection,
    config: &KubernetesConfig,
    sender: &mpsc::Sender<Result<Observed<K>>>,
) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
{
    let what = || {
        format!(
            "{} {} in namespace {}",
            K::kind(&Default::default()),
            selection
                .fields
                .as_deref()
                .or(selection.labels.as_deref())
                .unwrap_or(""),
            config.namespace
        )
    };
    let list_params = selection.list_params();
    'list: loop {
        let list = retrying(
            config,
            || format!("list {}", what()),
            || api.list(&list_params),
        )
        .await?;
        let mut version = list.metadata.resource_version.unwrap_or_default();
        for item in list.items {
            if sender.send(Ok(Observed::Present(item))).await.is_err() {
                return Ok(());
            }
        }
        let mut backoff = Backoff::new(config);
        loop {
            let stream = match api.watch(&selection.watch_params(), &version).await {
                Ok(stream) => stream,
                Err(error) if gone(&error) => {
                    tracing::debug!(what = %what(), "watch: 410 Gone; listing again");
                    continue 'list;
                }
                Err(error) if is_transient(&error) => {
                    tracing::warn!(what = %what(), %error, "watch failed; trying again");
                    if !backoff.wait().await {
                        return Err(KubernetesError::api(format!("watch {}", what()), error));
                    }
                    continue;
                }
                Err(error) => {
                    return Err(KubernetesError::api(format!("watch {}", what()), error));
                }
            };
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                let observed = match event {
                    Ok(WatchEvent::Added(object) | WatchEvent::Modified(object)) => {
                        Observed::Present(object)
                    }
                    Ok(WatchEvent::Deleted(object)) => Observed::Deleted(object),
                    Ok(WatchEvent::Bookmark(bookmark)) => {
                        version = bookmark.metadata.resource_version;
                        continue;
                    }
                    Ok(WatchEvent::Error(status)) if status.code == 410 => {
                        tracing::debug!(what = %what(), "watch: 410 Gone; listing again");
                        continue 'list;
                    }
                    Ok(WatchEvent::Error(status)) => {
                        tracing::warn!(what = %what(), ?status, "watch error event; watching again");
                        break;
                    }
                    Err(error) => {
                        tracing::debug!(what = %what(), %error, "watch stream broke; watching again");
                        break;
                    }
                };
                backoff = Backoff::new(config);
                let object = match &observed {
                    Observed::Present(object) | Observed::Deleted(object) => object,
                };
                if let Some(seen) = object.meta().resource_version.clone() {
                    version = seen;
                }
                if sender.send(Ok(observed)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}
