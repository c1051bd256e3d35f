//! Leader election through an Azure Blob lease (Azure's own answer outside Kubernetes), so two
//! replicas can run and only one writes.
//!
//! Guarantees:
//! - **One writer.** Only the replica holding the lease passes the write gate; followers observe and
//!   alert, never write.
//! - **Fencing by time.** A replica counts itself leader only until `lease start + duration − margin`,
//!   measured from when it *sent* the last successful acquire or renew. A replica that is paused
//!   (SIGSTOP) or cut off from storage stops writing before its lease can have expired, whatever it
//!   believes; it re-acquires before writing again.
//! - **Fast hand-over.** The leader renews every third of the lease; on SIGTERM it releases the lease
//!   so another replica takes over at once.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aca_reconcile::WriteGate;
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, StatusCode, Transport, Url};
use azure_storage_blob::models::BlobClientAcquireLeaseOptions;
use azure_storage_blob::{BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions};
use tokio_util::sync::CancellationToken;

/// The blob every replica competes for.
pub const LEASE_BLOB: &str = "aca-operator-leader";

#[derive(Debug, Clone, Copy)]
struct Held {
    /// When the last successful acquire or renew was sent.
    since: Instant,
}

/// Whether this replica may write. Cheap to clone; shared with the executor's write gate.
#[derive(Debug, Clone)]
pub struct Leadership {
    held: Arc<Mutex<Option<Held>>>,
    /// `None`: no election, always the leader.
    window: Option<Duration>,
}

impl Leadership {
    /// A single replica: always the leader.
    pub fn sole() -> Self {
        Leadership {
            held: Arc::new(Mutex::new(Some(Held { since: Instant::now() }))),
            window: None,
        }
    }

    fn elected(lease: Duration) -> Self {
        // Stop writing a fifth of the lease (at least 2 s) before it could expire.
        let margin = (lease / 5).max(Duration::from_secs(2));
        Leadership {
            held: Arc::new(Mutex::new(None)),
            window: Some(lease.saturating_sub(margin)),
        }
    }

    pub fn is_leader(&self) -> bool {
        let held = *self.held.lock().expect("leadership lock");
        match (held, self.window) {
            (Some(_), None) => true,
            (Some(h), Some(window)) => h.since.elapsed() < window,
            (None, _) => false,
        }
    }

    pub fn gate(&self) -> WriteGate {
        let me = self.clone();
        WriteGate(Arc::new(move || me.is_leader()))
    }

    fn set(&self, held: Option<Held>) {
        *self.held.lock().expect("leadership lock") = held;
    }
}

pub struct Election {
    blob: BlobClient,
    container: BlobContainerClient,
    lease: Duration,
    lease_id: String,
    replica: String,
    pub leadership: Leadership,
}

fn transport(ca_cert: Option<&Path>) -> Result<Transport, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5));
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        builder = builder.tls_certs_merge([cert]);
    }
    Ok(Transport::new(Arc::new(builder.build().map_err(|e| e.to_string())?)))
}

/// A lease id is a GUID; each replica proposes its own.
fn lease_id_for(replica: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = replica.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) ^ nanos as u64;
    let l = (nanos >> 64) as u64 ^ u64::from(std::process::id());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        l & 0xfff,
        (l >> 12) & 0xffff_ffff_ffff
    )
}

impl Election {
    /// `account_url` like `https://ACCOUNT.blob.core.windows.net`; the blob is `container/aca-operator-leader`.
    pub fn new(
        account_url: &str,
        container: &str,
        lease: Duration,
        replica: &str,
        credential: Arc<dyn TokenCredential>,
        ca_cert: Option<&Path>,
    ) -> Result<Self, String> {
        if !(15..=60).contains(&lease.as_secs()) {
            return Err(format!(
                "--lease-duration must be 15-60 s (Azure Blob leases), got {}s",
                lease.as_secs()
            ));
        }
        let base = account_url.trim_end_matches('/');
        let container_url =
            Url::parse(&format!("{base}/{container}")).map_err(|e| format!("--lease-account {account_url}: {e}"))?;
        let blob_url = Url::parse(&format!("{base}/{container}/{LEASE_BLOB}"))
            .map_err(|e| format!("--lease-account {account_url}: {e}"))?;
        let transport = transport(ca_cert)?;
        let client_options = ClientOptions {
            transport: Some(transport),
            ..ClientOptions::default()
        };
        let blob = BlobClient::new(
            blob_url,
            Some(credential.clone()),
            Some(BlobClientOptions {
                client_options: client_options.clone(),
                ..BlobClientOptions::default()
            }),
        )
        .map_err(|e| format!("lease blob: {e}"))?;
        let container = BlobContainerClient::new(
            container_url,
            Some(credential),
            Some(BlobContainerClientOptions {
                client_options,
                ..BlobContainerClientOptions::default()
            }),
        )
        .map_err(|e| format!("lease container: {e}"))?;
        Ok(Election {
            blob,
            container,
            lease,
            lease_id: lease_id_for(replica),
            replica: replica.to_string(),
            leadership: Leadership::elected(lease),
        })
    }

    /// The container and the blob, created if missing (another replica may be doing the same).
    async fn ensure_blob(&self) {
        let _ = self.container.create(None).await;
        if !self.blob.exists().await.unwrap_or(false) {
            let _ = self
                .blob
                .upload(azure_core::http::RequestContent::from(Vec::<u8>::new()), None)
                .await;
        }
    }

    async fn try_acquire(&self) -> Result<bool, String> {
        let sent = Instant::now();
        let options = BlobClientAcquireLeaseOptions {
            proposed_lease_id: Some(self.lease_id.clone()),
            ..Default::default()
        };
        match self
            .blob
            .acquire_lease(self.lease.as_secs() as i32, Some(options))
            .await
        {
            Ok(_) => {
                self.leadership.set(Some(Held { since: sent }));
                Ok(true)
            }
            Err(e) if e.http_status() == Some(StatusCode::Conflict) => Ok(false),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => {
                self.ensure_blob().await;
                Ok(false)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn renew(&self) -> Result<bool, String> {
        let sent = Instant::now();
        match self.blob.renew_lease(self.lease_id.clone(), None).await {
            Ok(_) => {
                self.leadership.set(Some(Held { since: sent }));
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.http_status(),
                    Some(StatusCode::Conflict | StatusCode::PreconditionFailed | StatusCode::NotFound)
                ) =>
            {
                self.leadership.set(None);
                Ok(false)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Competes for and keeps the lease until `cancel`; then releases it.
    pub async fn run(self, cancel: CancellationToken, on_change: impl Fn(bool)) {
        self.ensure_blob().await;
        let every = self.lease / 3;
        let mut was_leader = false;
        loop {
            let holding = self.leadership.held.lock().expect("leadership lock").is_some();
            let result = if holding {
                self.renew().await
            } else {
                self.try_acquire().await
            };
            if let Err(e) = result {
                tracing::warn!(event = "lease_error", replica = %self.replica, error = %e, "lease storage unreachable; leadership lapses when the lease could expire");
            }
            let leader = self.leadership.is_leader();
            if leader != was_leader {
                if leader {
                    tracing::info!(event = "leader_elected", replica = %self.replica, lease_seconds = self.lease.as_secs(), "this replica now writes");
                } else {
                    tracing::warn!(event = "leader_lost", replica = %self.replica, "this replica stops writing; it observes and alerts");
                }
                on_change(leader);
                was_leader = leader;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
        if self.leadership.held.lock().expect("leadership lock").is_some() {
            self.leadership.set(None);
            match self.blob.release_lease(self.lease_id.clone(), None).await {
                Ok(_) => {
                    tracing::info!(event = "leader_released", replica = %self.replica, "lease released for a fast hand-over")
                }
                Err(e) => {
                    tracing::warn!(event = "lease_error", replica = %self.replica, error = %e, "could not release the lease; it expires on its own")
                }
            }
        }
        on_change(false);
    }
}
