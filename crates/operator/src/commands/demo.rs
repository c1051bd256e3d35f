//! `demo`: the whole story on an in-process ARM simulator, with no set-up and no Azure.
//!
//! 1. The migration plan's current layout: Langfuse at 2 replicas, each with a ClickHouse sidecar
//!    on one Azure Files share. 2. The plan. 3. The safe migration, step by step. 4. Drift injected
//!    as a person would in the portal (ClickHouse scaled to 2, the sidecar re-added), alerted and
//!    corrected. 5. A summary, checked against the simulator's own revision history.

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, AuthMethod, AuthSettings, LroSettings, Secret};
use aca_model::arm::ResourceId;
use aca_model::desired::{Stack, load_str};
use aca_reconcile::{DriftOutcome, ExecSettings, PassOptions, PassReport, StepEvent, run_pass};
use aca_sim::apps::{self, OpKind};
use aca_sim::scenario;
use aca_sim::state::Principal;
use aca_sim::{SimConfig, Simulator, StartOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::DemoArgs;
use crate::error::CliError;
use crate::render::{self, Palette};

const EXAMPLE: &str = include_str!("../../../../deploy/examples/langfuse.yaml");
const EXAMPLE_NAME: &str = "deploy/examples/langfuse.yaml";

struct Demo {
    sim: Simulator,
    client: ArmClient,
    stack: Stack,
    palette: Palette,
    terminal: bool,
    corrected: usize,
    alerts: usize,
}

pub async fn run(args: &DemoArgs) -> ExitCode {
    match Demo::start().await {
        Ok(mut demo) => {
            let ok = demo.story(args.plan_only).await;
            demo.sim.stop().await;
            if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(e) => crate::error::exit(&CliError::Demo(e)),
    }
}

fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("demo-{:x}", nanos ^ u128::from(std::process::id()))
}

impl Demo {
    async fn start() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = SimConfig {
            lro_duration: Duration::from_millis(400),
            revision_start: Duration::from_millis(600),
            overlap: Duration::from_millis(1500),
            stop_delay: Duration::from_millis(300),
            ..SimConfig::default()
        };
        let sim = Simulator::start(StartOptions {
            scenario: Some("sidecar".into()),
            config,
            ..StartOptions::default()
        })
        .await?;
        let client = ArmClient::new(ArmConfig {
            endpoint: Some(sim.base_url.clone()),
            allow_insecure_loopback: true,
            auth: AuthSettings {
                method: AuthMethod::Static,
                static_token: Some(Secret::new(token())),
                ..AuthSettings::default()
            },
            lro: LroSettings {
                poll_interval: Duration::from_millis(100),
                ..LroSettings::default()
            },
            retry_initial_delay: Duration::from_millis(50),
            ..ArmConfig::default()
        })?;
        let stack = load_str(EXAMPLE, EXAMPLE_NAME)?.state.stacks.remove(0);
        let terminal = super::stdout_is_terminal();
        Ok(Demo {
            sim,
            client,
            stack,
            palette: Palette {
                enabled: crate::color::stdout(),
            },
            terminal,
            corrected: 0,
            alerts: 0,
        })
    }

    fn heading(&self, n: u32, text: &str) {
        println!("\n{}", self.palette.bold(&format!("== {n}. {text}")));
    }

    async fn story(&mut self, plan_only: bool) -> bool {
        println!(
            "{}",
            self.palette
                .bold("aca-operator demo: a local ARM simulator, no Azure needed")
        );
        println!("ARM simulator listening on {} (scenario `sidecar`)", self.sim.base_url);
        self.heading(1, "Today's layout (the migration plan's current state)");
        self.describe_live().await;

        self.heading(2, &format!("The plan for {EXAMPLE_NAME} (nothing is changed yet)"));
        let report = self.pass(false).await;
        println!("{}", render::stack_text(&self.stack, &report, self.palette));
        if plan_only {
            return report.error.is_none();
        }

        self.heading(
            3,
            "The migration: snapshot, remove the sidecar, wait, create the dedicated app",
        );
        let report = self.pass(true).await;
        self.tally(&report);
        if let Some(e) = &report.error {
            println!("{} {e}", self.palette.red("migration failed:"));
            return false;
        }
        self.describe_live().await;
        let overlap_free = self.check_history();

        self.heading(4, "A person scales ClickHouse to 2 replicas in the portal");
        self.person_edit(
            scenario::CLICKHOUSE_APP,
            json!({"properties": {"template": {"scale": {"minReplicas": 2, "maxReplicas": 2}}}}),
        );
        let r = self.pass(true).await;
        self.tally(&r);

        self.heading(5, "A person re-adds the ClickHouse sidecar to Langfuse");
        self.readd_sidecar();
        let r2 = self.pass(true).await;
        self.tally(&r2);
        let overlap_free = overlap_free && self.check_history();

        self.heading(6, "A steady-state pass: nothing to do");
        let steady = self.pass(true).await;
        println!("{} drift(s), {} step(s)", steady.drift_count(), steady.plan.steps.len());

        self.heading(7, "Summary");
        self.describe_live().await;
        let ok = r.error.is_none() && r2.error.is_none() && steady.drift_count() == 0 && overlap_free;
        println!(
            "{} alert(s) raised, {} correction(s) made; the operator never started a revision on the share while another ran there: {}.",
            self.alerts,
            self.corrected,
            if overlap_free {
                self.palette.green("verified from the simulator's revision history")
            } else {
                self.palette.red("VIOLATED")
            }
        );
        println!("Next: `aca-operator run -f {EXAMPLE_NAME}` keeps this state as a daemon (see README.md).");
        ok
    }

    async fn pass(&self, apply: bool) -> PassReport {
        let bar: Mutex<Option<ProgressBar>> = Mutex::new(None);
        let terminal = self.terminal;
        let palette = self.palette;
        let clock = aca_reconcile::playbook::OutageClock::default();
        let on_event = |e: &StepEvent| {
            clock.observe(e);
            let mut bar = bar.lock().expect("progress lock");
            match e {
                StepEvent::Started { index, total, step } => {
                    let text = format!("[{}/{total}] {step}", index + 1);
                    if terminal {
                        let pb = ProgressBar::new_spinner();
                        pb.set_style(
                            ProgressStyle::with_template("  {spinner} {msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        pb.enable_steady_tick(Duration::from_millis(80));
                        pb.set_message(text);
                        *bar = Some(pb);
                    } else {
                        println!("  {text}");
                    }
                }
                StepEvent::Waiting { detail, .. } => {
                    if let Some(pb) = bar.as_ref() {
                        pb.set_message(detail.clone());
                    }
                }
                StepEvent::Finished { step, outcome } => {
                    // On a terminal the spinner line becomes `✓ step: what was done`.
                    let text = format!("{} {step}: {}", palette.green("✓"), super::apply::outcome_text(outcome));
                    match bar.take() {
                        Some(pb) => pb.finish_with_message(text),
                        None => println!("    {}", super::apply::outcome_text(outcome)),
                    }
                }
                StepEvent::Failed { error, .. } => {
                    let text = format!("{} {error}", palette.red("failed:"));
                    match bar.take() {
                        Some(pb) => pb.abandon_with_message(text),
                        None => println!("    {text}"),
                    }
                }
            }
        };
        let options = PassOptions {
            apply,
            exec: ExecSettings {
                poll_interval: Duration::from_millis(150),
                wait_timeout: Duration::from_secs(60),
            },
            log_events: false,
            ..PassOptions::default()
        };
        let report = run_pass(&self.client, &self.stack, options, &on_event).await;
        if let Some(w) = clock.window() {
            println!("  {w}");
        }
        report
    }

    /// Prints each drift as the daemon would alert it, with what was done.
    fn tally(&mut self, report: &PassReport) {
        for (d, action) in &report.drift_outcomes {
            self.alerts += 1;
            if *action == DriftOutcome::Corrected {
                self.corrected += 1;
            }
            let level = match d.severity {
                aca_reconcile::DriftSeverity::Critical => self.palette.red("CRITICAL"),
                aca_reconcile::DriftSeverity::Warning => self.palette.yellow("WARN"),
            };
            let who = d
                .changed_by
                .as_ref()
                .map(|by| format!(" — changed by {by} at {}", d.changed_at.as_deref().unwrap_or("?")))
                .unwrap_or_default();
            println!(
                "  {level} drift {}: live {} / desired {}{who} → {}",
                d.path,
                d.live,
                d.desired,
                action.as_str()
            );
        }
    }

    /// A portal edit: applied at once by a person (`alice@contoso.com`).
    fn person_edit(&self, app: &str, patch: Value) {
        let id = ResourceId::parse(&scenario::app_id(app)).expect("a valid id");
        let who = Principal {
            name: "alice@contoso.com".into(),
            kind: "User".into(),
        };
        let state = self.sim.state();
        let mut state = state.lock().expect("simulator state");
        if let Err(e) = apps::write(&mut state, &id, patch, OpKind::Patch, &who, None, true) {
            println!("  (the simulator refused the edit: {})", e.message);
        } else {
            println!("  alice@contoso.com edited {app} in the portal");
        }
    }

    fn readd_sidecar(&self) {
        let id = scenario::app_id(scenario::LANGFUSE_APP);
        let template = {
            let state = self.sim.state();
            let state = state.lock().expect("simulator state");
            let key = ResourceId::parse(&id).expect("a valid id").canonical();
            state
                .apps
                .get(&key)
                .and_then(|a| a.resource.pointer("/properties/template").cloned())
                .unwrap_or(Value::Null)
        };
        let mut template = template;
        if let Some(containers) = template.get_mut("containers").and_then(Value::as_array_mut) {
            containers.push(
                json!({"name": "clickhouse", "image": "clickhouse/clickhouse-server:24.8-alpine",
                "resources": {"cpu": 1.0, "memory": "2Gi"},
                "volumeMounts": [{"volumeName": "clickhouse-data", "mountPath": "/var/lib/clickhouse"}]}),
            );
        }
        template["volumes"] =
            json!([{"name": "clickhouse-data", "storageType": "AzureFile", "storageName": scenario::STORAGE}]);
        template["scale"] = json!({"minReplicas": 1, "maxReplicas": 10});
        // Sidecar 1 vCPU + web and worker: keep an accepted total.
        self.person_edit(scenario::LANGFUSE_APP, json!({"properties": {"template": template}}));
    }

    async fn describe_live(&self) {
        for name in [scenario::LANGFUSE_APP, scenario::CLICKHOUSE_APP] {
            let id = ResourceId::container_app(scenario::SUBSCRIPTION, scenario::RESOURCE_GROUP, name);
            match self.client.find_container_app(&id).await {
                Ok(Some(app)) => {
                    let containers: Vec<&str> = app.containers().iter().map(|c| c.name.as_str()).collect();
                    let replicas: u32 = self
                        .client
                        .list_revisions(&id)
                        .await
                        .map(|rs| rs.iter().map(|r| r.replicas()).sum())
                        .unwrap_or(0);
                    let on_share = app
                        .volumes()
                        .iter()
                        .any(|v| v.storage_name.as_deref() == Some(scenario::STORAGE));
                    let (min, max) = app.effective_scale();
                    println!(
                        "  {name}: containers [{}], scale {min}-{max}, {replicas} replica(s) running{}",
                        containers.join(", "),
                        if on_share {
                            format!(", mounts `{}`", scenario::STORAGE)
                        } else {
                            String::new()
                        }
                    );
                }
                Ok(None) => println!("  {name}: does not exist"),
                Err(e) => println!("  {name}: cannot read ({e})"),
            }
        }
    }

    /// From the simulator's own revision history: the operator never started a revision on the
    /// share while another revision ran there. (A person can, as in step 5: that is the critical
    /// drift the operator reports and removes.)
    fn check_history(&self) -> bool {
        let state = self.sim.state();
        let state = state.lock().expect("simulator state");
        apps::operator_overlaps(&state, scenario::STORAGE).is_empty()
    }
}
