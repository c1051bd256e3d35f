//! Leader election through an Azure Blob lease (Azure's own answer outside Kubernetes), so two
//! replicas can run and only one writes.
//!
//! Guarantees (docs/decisions/0007-blob-lease-fencing.md):
//! - **One writer, fenced by time.** The lease is *known* held until `sent time of the last
//!   successful acquire or renew + lease − margin`, on a monotonic clock. That window is the ARM
//!   client's [`WriteFence`]: every attempt of every write is checked against it, inside the retry
//!   loop; a failed renewal does not extend it, a refused one closes it at once. A replica that is
//!   paused (SIGSTOP) or cut off from storage finds its window over before the lease can expire.
//! - **Signals follow the window, not the last success.** `leader_elected`/`leader_lost`, the
//!   `aca_leader` gauge and `/readyz`'s `leader` change the moment the window opens or ends; the first
//!   failed renewal is logged (`lease_error`) with its cause.
//! - **Fast hand-over.** The leader renews every third of the lease; a follower tries every sixth;
//!   on shutdown the lease is released (`leader_released`) so another replica takes over at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aca_arm::WriteFence;
use aca_reconcile::WriteGate;
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, RetryOptions, StatusCode, Transport, Url};
use azure_storage_blob::models::BlobClientAcquireLeaseOptions;
use azure_storage_blob::{BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::LeaderError;

/// The blob every replica competes for.
pub const LEASE_BLOB: &str = "aca-operator-leader";

/// Whether this replica may write: a view of the ARM client's write fence. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Leadership {
    fence: WriteFence,
}

impl Leadership {
    /// A single replica: always the leader.
    pub fn sole() -> Self {
        Leadership {
            fence: WriteFence::always_open(),
        }
    }

    /// Competing replicas: not the leader until the election says so.
    pub fn elected() -> Self {
        Leadership {
            fence: WriteFence::closed(),
        }
    }

    /// True exactly while writes are allowed.
    pub fn is_leader(&self) -> bool {
        self.fence.allows_now()
    }

    /// The fence the ARM client checks before every write attempt.
    pub fn fence(&self) -> WriteFence {
        self.fence.clone()
    }

    pub fn gate(&self) -> WriteGate {
        let me = self.clone();
        WriteGate(Arc::new(move || me.is_leader()))
    }
}

/// The answer of lease storage to one acquire or renew.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// The lease is ours from the time the request was sent.
    Renewed,
    /// Storage says the lease is not ours (another replica holds it, or ours was taken).
    Refused,
    /// No answer that tells: storage unreachable, slow or failing. The cause, in our words.
    Failed(String),
}

/// How the window moves with each answer, so it can be tested on paused time.
#[derive(Debug, Clone, Copy)]
struct Timing {
    lease: Duration,
    /// Subtracted from the lease: clock-rate differences and the time a request spends on the way.
    margin: Duration,
}

impl Timing {
    fn new(lease: Duration) -> Self {
        Timing {
            lease,
            margin: (lease / 5).max(Duration::from_secs(2)),
        }
    }

    /// Applies an answer to a request sent at `sent`: `Renewed` opens (or moves) the window,
    /// `Refused` closes it, `Failed` leaves it to end on its own.
    fn apply(&self, fence: &WriteFence, sent: Instant, answer: &Answer) {
        match answer {
            Answer::Renewed => fence.open_until(sent + self.lease - self.margin),
            Answer::Refused => fence.close(),
            Answer::Failed(_) => {}
        }
    }

    /// Between renewals while holding; between attempts otherwise (a follower, or after a failure).
    fn pause(&self, holding_fine: bool) -> Duration {
        if holding_fine { self.lease / 3 } else { self.lease / 6 }
    }
}

/// A failure of lease storage, in the project's words (the cause chain kept as detail).
fn describe(e: &azure_core::Error) -> String {
    use azure_core::error::ErrorKind;
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    let what = match e.kind() {
        ErrorKind::Io | ErrorKind::Connection => "lease storage unreachable".to_string(),
        ErrorKind::Credential => "no token for lease storage".to_string(),
        ErrorKind::HttpResponse { status, .. } if matches!(u16::from(*status), 401 | 403) => {
            format!("lease storage refused the credential ({})", u16::from(*status))
        }
        ErrorKind::HttpResponse { status, .. } => format!("lease storage answered {}", u16::from(*status)),
        _ => "lease storage request failed".to_string(),
    };
    format!("{what}: {detail}")
}

pub struct Election {
    blob: BlobClient,
    container: BlobContainerClient,
    timing: Timing,
    lease_id: String,
    replica: String,
    pub leadership: Leadership,
}

fn transport(ca_cert: Option<&Path>) -> Result<Transport, LeaderError> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5));
    if let Some(path) = ca_cert {
        let ca_error = |source: Box<dyn std::error::Error + Send + Sync>| LeaderError::CaCert {
            path: path.to_path_buf(),
            source,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(Box::new(e)))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| ca_error(Box::new(e)))?;
        builder = builder.tls_certs_merge([cert]);
    }
    let client = builder.build().map_err(|e| LeaderError::Http(Box::new(e)))?;
    Ok(Transport::new(Arc::new(client)))
}

/// A lease id is a GUID; each replica proposes its own, random (v4).
fn new_lease_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Election {
    /// `account_url` like `https://ACCOUNT.blob.core.windows.net`; the blob is
    /// `container/aca-operator-leader`. `leadership` is the one whose fence the ARM client checks.
    pub fn new(
        account_url: &str,
        container: &str,
        lease: Duration,
        replica: &str,
        credential: Arc<dyn TokenCredential>,
        ca_cert: Option<&Path>,
        leadership: Leadership,
    ) -> Result<Self, LeaderError> {
        let base = account_url.trim_end_matches('/');
        let url_of = |what: &'static str, text: String| {
            Url::parse(&text).map_err(|e| LeaderError::Blob {
                what,
                url: text,
                source: Box::new(e),
            })
        };
        let container_url = url_of("container", format!("{base}/{container}"))?;
        let blob_url = url_of("blob", format!("{base}/{container}/{LEASE_BLOB}"))?;
        let transport = transport(ca_cert)?;
        // No retries inside the storage client: one failure is reported at once and our loop,
        // which knows the window, decides when to try again.
        let client_options = ClientOptions {
            transport: Some(transport),
            retry: RetryOptions::none(),
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
        .map_err(|e| LeaderError::Blob {
            what: "blob",
            url: base.to_string(),
            source: Box::new(e),
        })?;
        let container = BlobContainerClient::new(
            container_url,
            Some(credential),
            Some(BlobContainerClientOptions {
                client_options,
                ..BlobContainerClientOptions::default()
            }),
        )
        .map_err(|e| LeaderError::Blob {
            what: "container",
            url: base.to_string(),
            source: Box::new(e),
        })?;
        Ok(Election {
            blob,
            container,
            timing: Timing::new(lease),
            lease_id: new_lease_id(),
            replica: replica.to_string(),
            leadership,
        })
    }

    /// The longest wait for one answer from lease storage.
    fn answer_within(&self) -> Duration {
        self.timing.lease / 5
    }

    /// The container and the blob, created if missing (another replica may be doing the same).
    async fn ensure_blob(&self) {
        let within = self.answer_within();
        let _ = tokio::time::timeout(within, self.container.create(None)).await;
        let exists = tokio::time::timeout(within, self.blob.exists()).await;
        if !matches!(exists, Ok(Ok(true))) {
            let _ = tokio::time::timeout(
                within,
                self.blob
                    .upload(azure_core::http::RequestContent::from(Vec::<u8>::new()), None),
            )
            .await;
        }
    }

    /// One acquire (`holding == false`) or renew, bounded in time.
    async fn ask(&self, holding: bool) -> Answer {
        let call = async {
            if holding {
                self.blob.renew_lease(self.lease_id.clone(), None).await.map(|_| ())
            } else {
                let options = BlobClientAcquireLeaseOptions {
                    proposed_lease_id: Some(self.lease_id.clone()),
                    ..Default::default()
                };
                self.blob
                    .acquire_lease(self.timing.lease.as_secs() as i32, Some(options))
                    .await
                    .map(|_| ())
            }
        };
        match tokio::time::timeout(self.answer_within(), call).await {
            Ok(Ok(())) => Answer::Renewed,
            Ok(Err(e)) => match e.http_status() {
                Some(StatusCode::Conflict | StatusCode::PreconditionFailed) => Answer::Refused,
                Some(StatusCode::NotFound) => {
                    self.ensure_blob().await;
                    Answer::Refused
                }
                _ => Answer::Failed(describe(&e)),
            },
            Err(_) => Answer::Failed(format!(
                "lease storage did not answer within {} ms",
                self.answer_within().as_millis()
            )),
        }
    }

    /// Competes for and keeps the lease until `stop`; then releases it. Reports each change of
    /// leadership through `on_change` the moment it happens.
    pub async fn run(self, stop: CancellationToken, on_change: impl Fn(bool)) {
        let fence = self.leadership.fence();
        let report = async {
            let mut transitions = fence.transitions();
            let mut was = false;
            loop {
                let leader = tokio::select! {
                    leader = transitions.next() => leader,
                    _ = stop.cancelled() => return,
                };
                if leader && !was {
                    tracing::info!(event = "leader_elected", replica = %self.replica, lease_seconds = self.timing.lease.as_secs(), "this replica now writes");
                } else if !leader && was {
                    tracing::warn!(event = "leader_lost", replica = %self.replica, "this replica stops writing; it observes and alerts");
                }
                was = leader;
                on_change(leader);
            }
        };
        let keep = async {
            self.ensure_blob().await;
            let mut holding = false;
            let mut failures = 0u32;
            loop {
                let sent = Instant::now();
                let answer = self.ask(holding).await;
                self.timing.apply(&fence, sent, &answer);
                match &answer {
                    Answer::Renewed => {
                        if failures > 0 {
                            tracing::info!(event = "lease_recovered", replica = %self.replica, failures, "lease storage answers again");
                        }
                        holding = true;
                        failures = 0;
                    }
                    Answer::Refused => {
                        holding = false;
                        failures = 0;
                    }
                    Answer::Failed(cause) => {
                        failures += 1;
                        tracing::warn!(event = "lease_error", replica = %self.replica, consecutive = failures, error = %cause,
                            "leadership ends when the lease window does unless a renewal succeeds first");
                    }
                }
                let pause = self.timing.pause(holding && failures == 0);
                tokio::select! {
                    _ = stop.cancelled() => return holding,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        };
        let ((), holding) = tokio::join!(report, keep);
        fence.close();
        on_change(false);
        if holding {
            match tokio::time::timeout(
                self.answer_within(),
                self.blob.release_lease(self.lease_id.clone(), None),
            )
            .await
            {
                Ok(Ok(_)) => {
                    tracing::info!(event = "leader_released", replica = %self.replica, "lease released for a fast hand-over")
                }
                Ok(Err(e)) => {
                    tracing::warn!(event = "lease_error", replica = %self.replica, error = %describe(&e), "could not release the lease; it expires on its own")
                }
                Err(_) => {
                    tracing::warn!(event = "lease_error", replica = %self.replica, "lease storage did not answer the release; the lease expires on its own")
                }
            }
        }
    }
}

/// Starts the lease election when asked (the same credentials as ARM); otherwise this replica leads.
/// Each change of leadership goes to `aca_leader` and to the scheduler (`leader_tx`).
pub fn start(
    args: &crate::cli::RunArgs,
    leadership: &Leadership,
    metrics: Arc<crate::metrics::Metrics>,
    leader_tx: tokio::sync::watch::Sender<bool>,
    stop: CancellationToken,
) -> Result<Option<tokio::task::JoinHandle<()>>, LeaderError> {
    let set = move |leader: bool| {
        metrics.leader.set(i64::from(leader));
        // Only a real change notifies: the daemon runs every stack when leadership is gained,
        // and a sole replica's channel already starts `true` (a repeated `true` at start ran
        // every stack twice).
        leader_tx.send_if_modified(|was| std::mem::replace(was, leader) != leader);
    };
    if args.leader_election == crate::cli::LeaderElection::None {
        set(true);
        return Ok(None);
    }
    let account = args.lease_account.clone().ok_or(LeaderError::NoAccount)?;
    let url = aca_arm::ArmClient::lease_url_check(&account, args.arm.allow_insecure_loopback).map_err(|source| {
        LeaderError::Account {
            account: account.clone(),
            source,
        }
    })?;
    let settings = aca_arm::AuthSettings::from_env(args.arm.auth);
    let credential = aca_arm::token_credential(&settings, args.arm.cloud, &url).map_err(LeaderError::Credential)?;
    let replica = args
        .arm
        .replica_id
        .clone()
        .unwrap_or_else(|| format!("pid-{}", std::process::id()));
    let election = Election::new(
        &account,
        &args.lease_container,
        args.lease_duration,
        &replica,
        credential,
        args.arm.ca_cert.as_deref(),
        leadership.clone(),
    )?;
    set(false);
    Ok(Some(tokio::spawn(async move { election.run(stop, set).await })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    #[tokio::test(start_paused = true)]
    async fn a_renewal_opens_the_window_for_the_lease_less_the_margin_from_when_it_was_sent() {
        let timing = Timing::new(LEASE);
        let leadership = Leadership::elected();
        assert!(!leadership.is_leader());
        let sent = Instant::now();
        // The answer takes 1 s: the window still counts from the sending.
        tokio::time::advance(Duration::from_secs(1)).await;
        timing.apply(&leadership.fence(), sent, &Answer::Renewed);
        assert!(leadership.is_leader());
        tokio::time::advance(Duration::from_millis(10_999)).await;
        assert!(leadership.is_leader(), "12 s − 1 ms after sending");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!leadership.is_leader(), "15 s lease − 3 s margin");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_renewal_does_not_extend_the_window() {
        let timing = Timing::new(LEASE);
        let leadership = Leadership::elected();
        let start = Instant::now();
        timing.apply(&leadership.fence(), start, &Answer::Renewed);
        tokio::time::advance(Duration::from_secs(5)).await;
        timing.apply(
            &leadership.fence(),
            Instant::now(),
            &Answer::Failed("lease storage unreachable".into()),
        );
        assert!(leadership.is_leader(), "the lease is still known held");
        tokio::time::advance(Duration::from_secs(7)).await;
        assert!(!leadership.is_leader(), "refused at the first window's end");
        assert!(!leadership.gate().0(), "the executor's gate agrees");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_renewal_closes_the_window_at_once() {
        let timing = Timing::new(LEASE);
        let leadership = Leadership::elected();
        timing.apply(&leadership.fence(), Instant::now(), &Answer::Renewed);
        tokio::time::advance(Duration::from_secs(1)).await;
        timing.apply(&leadership.fence(), Instant::now(), &Answer::Refused);
        assert!(!leadership.is_leader());
    }

    #[test]
    fn the_margin_is_a_fifth_of_the_lease_and_at_least_two_seconds() {
        assert_eq!(Timing::new(Duration::from_secs(15)).margin, Duration::from_secs(3));
        assert_eq!(Timing::new(Duration::from_secs(60)).margin, Duration::from_secs(12));
        assert_eq!(Timing::new(Duration::from_secs(5)).margin, Duration::from_secs(2));
    }
}
