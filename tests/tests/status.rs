//! The status model end to end: the daemon on the simulator, a drift made by a person, then
//! `/status`, `aca-operator status` and the page (in a real headless Chromium) show it and its
//! correction.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aca_e2e::*;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);
const SINGLETON: &str = "apps.clickhouse.template.scale.maxReplicas";
const STATUS_TOKEN: &str = "e2e-status-token-91c4";
/// A `lastModifiedBy` with markup in it, as ARM would return whatever the principal is named.
const SCRIPT_PERSON: &str = "<script>document.title='pwned'</script><b>mallory</b>";

struct Daemon {
    sim: aca_sim::Simulator,
    op: Running,
    file: PathBuf,
    /// `http://127.0.0.1:PORT`.
    url: String,
}

/// A simulator in the target layout and a daemon on it (interval 1 s) listening on `listen`.
async fn daemon(name: &str, mode: &str, listen: &str, env: &[(&str, &str)]) -> Daemon {
    let sim = sim().await;
    let dir = scratch(name);
    migrate(&sim, &dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example(mode, "1s")).unwrap();
    let path = file.to_str().unwrap();
    let mut cmd = operator(
        &sim,
        &[
            "run",
            "-f",
            path,
            "--interval",
            "1s",
            "--resync",
            "1s",
            "--reload-interval",
            "200ms",
            "--listen-metrics",
            listen,
        ],
    );
    cmd.env_remove("ACA_STATUS_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let op = Running::spawn(cmd);
    op.wait_event("a clean pass", T, |e| e["event"] == "pass" && e["drifts"] == 0)
        .await;
    let addr = op.events().into_iter().find(|e| e["event"] == "listening").unwrap()["addr"]
        .as_str()
        .unwrap()
        .replace("0.0.0.0", "127.0.0.1");
    Daemon {
        sim,
        op,
        file,
        url: format!("http://{addr}"),
    }
}

/// A person edits an app: a merge patch, applied at once, made by `by`.
async fn edit_as(sim: &aca_sim::Simulator, app: &str, by: &str, patch: Value) {
    let by: String = by
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let r = reqwest::Client::new()
        .patch(format!("{}/_sim/state{}?by={by}", sim.base_url, app_path(app)))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
}

async fn get_status(url: &str) -> Value {
    let r = reqwest::get(format!("{url}/status")).await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Polls `/status` until `pred` holds; panics with the last document after `T`.
async fn wait_status(url: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let doc = get_status(url).await;
        if pred(&doc) {
            return doc;
        }
        assert!(start.elapsed() < T, "no {what} within {T:?}; last /status:\n{doc:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn app_of<'a>(doc: &'a Value, key: &str) -> &'a Value {
    doc["stacks"][0]["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .unwrap()
}

fn condition<'a>(scope: &'a Value, kind: &str) -> &'a Value {
    scope["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap()
}

fn status_cmd(d: &Daemon, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["status", "--endpoint", d.url.as_str()];
    args.extend_from_slice(extra);
    let out = operator(&d.sim, &args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code(),
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_shows_in_status_with_who_made_it_then_its_correction() {
    let d = daemon("status-drift", "observe", "127.0.0.1:0", &[]).await;
    let (code, out) = status_cmd(&d, &[]);
    assert_eq!(code, Some(0), "everything healthy after a clean pass:\n{out}");
    assert!(out.starts_with("STACK"), "{out}");

    edit_as(
        &d.sim,
        "langfuse-clickhouse",
        "alice@contoso.com",
        json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 3}}}}),
    )
    .await;
    let doc = wait_status(&d.url, "the alerted drift", |doc| {
        app_of(doc, "clickhouse")["drifts"][SINGLETON]["action"] == "alerted"
    })
    .await;
    assert_eq!(doc["schema"], "aca-operator.status/v1");
    let ch = app_of(&doc, "clickhouse");
    let drift = &ch["drifts"][SINGLETON];
    assert_eq!(
        (drift["live"].as_str(), drift["desired"].as_str()),
        (Some("3"), Some("1"))
    );
    assert!(
        drift["changedBy"].as_str().unwrap().contains("alice@contoso.com"),
        "{drift}"
    );
    assert!(drift["changedAt"].is_string(), "{drift}");
    assert_eq!(condition(ch, "Synced")["status"], "False");
    let healthy = condition(ch, "Healthy");
    assert_eq!(
        (healthy["status"].as_str(), healthy["reason"].as_str()),
        (Some("False"), Some("InvariantBreached"))
    );
    assert_eq!(condition(&doc["stacks"][0], "Healthy")["status"], "False");
    assert_eq!(condition(app_of(&doc, "langfuse"), "Healthy")["status"], "True");
    assert!(doc["stacks"][0]["nextReconcile"].is_string());

    let (code, out) = status_cmd(&d, &[]);
    assert_eq!(code, Some(2), "a breached invariant is unhealthy:\n{out}");
    let row = out
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("clickhouse"))
        .expect(&out);
    assert!(row.contains("alice@contoso.com") && row.contains("(alerted)"), "{out}");
    assert_eq!(
        row.split_whitespace().take(5).collect::<Vec<_>>(),
        ["langfuse", "clickhouse", "False", "False", "False"],
        "{out}"
    );
    let (code, json_out) = status_cmd(&d, &["--output", "json"]);
    assert_eq!(code, Some(2));
    let parsed: Value = serde_json::from_str(&json_out).expect(&json_out);
    assert_eq!(parsed["schema"], "aca-operator.status/v1");

    // Enforce: the daemon reloads the file and corrects.
    std::fs::write(&d.file, example("enforce", "1s")).unwrap();
    let doc = wait_status(&d.url, "the correction", |doc| {
        app_of(doc, "clickhouse")["drifts"][SINGLETON]["action"] == "corrected"
    })
    .await;
    let ch = app_of(&doc, "clickhouse");
    assert_eq!(
        condition(ch, "Synced")["status"],
        "True",
        "{}",
        serde_json::to_string_pretty(ch).unwrap()
    );
    assert_eq!(condition(ch, "Healthy")["status"], "True");
    assert!(
        ch["drifts"][SINGLETON]["changedBy"]
            .as_str()
            .unwrap()
            .contains("alice@contoso.com")
    );
    let recent = doc["stacks"][0]["recentDrifts"].as_array().unwrap();
    assert_eq!(recent[0]["action"], "corrected", "newest first: {recent:?}");
    assert!(
        recent.iter().any(|r| r["action"] == "alerted"),
        "the alert is still listed: {recent:?}"
    );
    assert!(
        !doc["stacks"][0]["recentSteps"].as_array().unwrap().is_empty(),
        "the correction's steps are listed"
    );
    let scale = &app(&d.sim, "langfuse-clickhouse").await["properties"]["template"]["scale"];
    assert_eq!(scale["maxReplicas"], 1, "really corrected");

    let (code, out) = status_cmd(&d, &[]);
    assert_eq!(code, Some(0), "healthy again:\n{out}");
    assert!(out.contains("(corrected)"), "{out}");
    d.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_listener_serves_the_status_only_with_its_token() {
    // Without a token: metrics yes, status no.
    let d = daemon("status-refused", "observe", "0.0.0.0:0", &[]).await;
    assert_eq!(reqwest::get(format!("{}/metrics", d.url)).await.unwrap().status(), 200);
    for path in ["/status", "/"] {
        assert_eq!(
            reqwest::get(format!("{}{path}", d.url)).await.unwrap().status(),
            403,
            "{path}"
        );
    }
    d.sim.stop().await;
    drop(d.op);

    let d = daemon(
        "status-token",
        "observe",
        "0.0.0.0:0",
        &[("ACA_STATUS_TOKEN", STATUS_TOKEN)],
    )
    .await;
    let client = reqwest::Client::new();
    for path in ["/status", "/"] {
        let url = format!("{}{path}", d.url);
        assert_eq!(client.get(&url).send().await.unwrap().status(), 401, "{path}");
        assert_eq!(
            client.get(&url).bearer_auth("wrong").send().await.unwrap().status(),
            401,
            "{path}"
        );
        let ok = client.get(&url).bearer_auth(STATUS_TOKEN).send().await.unwrap();
        assert_eq!(ok.status(), 200, "{path}");
        let body = ok.text().await.unwrap();
        assert!(body.contains("langfuse") && !body.contains(STATUS_TOKEN), "{path}");
        let basic = client
            .get(&url)
            .basic_auth("ops", Some(STATUS_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(
            basic.status(),
            200,
            "a browser sends the token as a Basic password: {path}"
        );
    }
    let (code, out) = status_cmd(&d, &[]);
    assert_eq!(code, Some(1), "no token, refused:\n{out}");
    let mut cmd = operator(&d.sim, &["status", "--endpoint", &d.url]);
    let out = cmd.env("ACA_STATUS_TOKEN", STATUS_TOKEN).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    d.sim.stop().await;
}

/// Chromium from Debian's package; `None` (after saying why) when absent outside CI.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and chromium is missing: .ci/run installs it (apt-get install -y chromium)"
        );
        eprintln!(
            "SKIPPED: chromium is not installed (apt-get install -y chromium); the status page was not tested in a browser"
        );
    }
    found
}

/// Runs headless Chromium with the flags known to work in containers, plus `args`.
fn headless(chromium: &Path, args: &[&str]) -> String {
    let profile = scratch("chromium-profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_a_headless_browser_shows_the_drift_and_runs_no_script_from_arm() {
    let Some(chromium) = chromium() else { return };
    let d = daemon("status-page", "observe", "127.0.0.1:0", &[]).await;
    edit_as(
        &d.sim,
        "langfuse-clickhouse",
        "alice@contoso.com",
        json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 3}}}}),
    )
    .await;
    edit_as(
        &d.sim,
        "langfuse",
        SCRIPT_PERSON,
        json!({"properties": {"template": {"scale": {"minReplicas": 1, "maxReplicas": 4}}}}),
    )
    .await;
    wait_status(&d.url, "both drifts", |doc| {
        app_of(doc, "clickhouse")["drifts"][SINGLETON]["action"] == "alerted"
            && app_of(doc, "langfuse")["drifts"].as_object().is_some_and(|m| {
                m.values()
                    .any(|r| r["changedBy"].as_str().is_some_and(|b| b.contains("mallory")))
            })
    })
    .await;

    let page = format!("{}/", d.url);
    let dom = headless(&chromium, &["--dump-dom", &page]);
    assert!(
        dom.contains("<title>aca-operator status</title>"),
        "no script ran (it would rename the page):\n{dom}"
    );
    assert!(dom.contains(">langfuse <"), "the stack is shown:\n{dom}");
    assert!(
        dom.contains(SINGLETON) && dom.contains("alice@contoso.com"),
        "the drift and who made it:\n{dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;b&gt;mallory&lt;/b&gt;"),
        "the person's name is shown as text:\n{dom}"
    );
    assert!(
        !dom.contains("<script") && !dom.contains("<b>mallory"),
        "no element from ARM:\n{dom}"
    );
    for secret in ["sim-sidecar-password-7f3a", "sim-db-password", "e2e-static-token-5b2d"] {
        assert!(!dom.contains(secret), "{secret} on the page");
    }

    // The screenshots of docs/operations.md (written there with ACA_UPDATE_DOCS=1).
    let shot = repo().join("target/e2e-output/status-page.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    headless(
        &chromium,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,900",
            "--hide-scrollbars",
            &page,
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{} bytes", png.len());
    // And at a phone's width, where each table row becomes a card.
    let phone = repo().join("target/e2e-output/status-page-phone.png");
    let _ = std::fs::remove_file(&phone);
    headless(
        &chromium,
        &[
            &format!("--screenshot={}", phone.display()),
            "--window-size=390,1400",
            "--hide-scrollbars",
            &page,
        ],
    );
    assert!(
        std::fs::read(&phone)
            .expect("a phone screenshot")
            .starts_with(b"\x89PNG")
    );
    if std::env::var("ACA_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::copy(&shot, repo().join("docs/status-page.png")).unwrap();
        std::fs::copy(&phone, repo().join("docs/status-page-phone.png")).unwrap();
    }
    d.sim.stop().await;
}
