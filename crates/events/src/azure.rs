//! The queue on Azure Storage (or Azurite), through the official `azure_storage_queue` client.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, RetryOptions, Transport, Url};
use azure_storage_queue::models::QueueClientReceiveMessagesOptions;
use azure_storage_queue::{QueueClient, QueueClientOptions};

use crate::reader::{Message, MessageQueue, QueueError};

/// How long a received message stays invisible to other readers while it is handled: a reader
/// that dies mid-batch lets its messages come back after this.
const VISIBILITY_TIMEOUT_S: i32 = 30;

/// A Storage queue read with a token credential (the same as ARM's).
pub struct AzureQueue {
    client: QueueClient,
}

impl std::fmt::Debug for AzureQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureQueue")
            .field("url", &self.client.url().as_str())
            .finish()
    }
}

/// Why the queue client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("--ca-cert {path}: {why}")]
    CaCert { path: String, why: String },
    #[error("events queue {url}: {why}")]
    Client { url: String, why: String },
}

impl AzureQueue {
    /// `url` like `https://ACCOUNT.queue.core.windows.net/QUEUE`. The caller checks the scheme
    /// (HTTPS, or plain HTTP toward loopback only); with a credential the client itself refuses
    /// plain HTTP. `ca_cert` adds a trusted CA (Azurite's, in tests).
    pub fn new(
        url: &Url,
        credential: Option<Arc<dyn TokenCredential>>,
        ca_cert: Option<&Path>,
    ) -> Result<Self, SetupError> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5));
        if let Some(path) = ca_cert {
            let ca_error = |why: String| SetupError::CaCert {
                path: path.display().to_string(),
                why,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
            builder = builder.tls_certs_merge([cert]);
        }
        let client_error = |why: String| SetupError::Client {
            url: url.to_string(),
            why,
        };
        let http = builder.build().map_err(|e| client_error(e.to_string()))?;
        // No retries inside the client: the reader's own loop backs off and reports the outage once.
        let options = QueueClientOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(http))),
                retry: RetryOptions::none(),
                ..ClientOptions::default()
            },
            ..QueueClientOptions::default()
        };
        let client =
            QueueClient::new(url.clone(), credential, Some(options)).map_err(|e| client_error(e.to_string()))?;
        Ok(AzureQueue { client })
    }
}

/// The storage client's error in our words, with its cause chain.
fn describe(e: &azure_core::Error) -> QueueError {
    use azure_core::error::ErrorKind;
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    match e.kind() {
        ErrorKind::Io | ErrorKind::Connection => QueueError::Unreachable(detail),
        ErrorKind::Credential => QueueError::Credential(detail),
        ErrorKind::HttpResponse { status, .. } => QueueError::Status {
            status: u16::from(*status),
            detail,
        },
        _ => QueueError::Other(detail),
    }
}

#[async_trait::async_trait]
impl MessageQueue for AzureQueue {
    async fn receive(&self, max: u8) -> Result<Vec<Message>, QueueError> {
        let options = QueueClientReceiveMessagesOptions {
            number_of_messages: Some(i32::from(max)),
            visibility_timeout: Some(VISIBILITY_TIMEOUT_S),
            ..Default::default()
        };
        let response = self
            .client
            .receive_messages(Some(options))
            .await
            .map_err(|e| describe(&e))?;
        let list = response.into_model().map_err(|e| describe(&e))?;
        Ok(list
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                Some(Message {
                    id: m.message_id?,
                    pop_receipt: m.pop_receipt?,
                    dequeue_count: m.dequeue_count.unwrap_or(1),
                    text: m.message_text.unwrap_or_default(),
                })
            })
            .collect())
    }

    async fn delete(&self, message: &Message) -> Result<(), QueueError> {
        self.client
            .delete_message(&message.id, &message.pop_receipt, None)
            .await
            .map(|_| ())
            .map_err(|e| describe(&e))
    }
}
