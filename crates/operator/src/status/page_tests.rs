//! The status page and the `status` table, rendered from hand-built reports (and, where
//! Chromium is installed, shown in a real browser).

use aca_reconcile::{DriftOutcome, DriftSeverity};

use super::model::PassContext;
use super::page;
use super::tests::*;

#[test]
fn the_page_shows_values_from_arm_as_text() {
    let mut s = stack();
    s.apps[0].key = "<script>alert(1)</script>".into();
    let mut d = drift("langfuse", SCALE, DriftSeverity::Warning);
    d.changed_by = Some("<img src=x onerror=alert(2)>".into());
    s.apply_pass(
        &report(vec![(d, DriftOutcome::Alerted)]),
        &PassContext::default(),
        at(0),
    );
    let html = page::render(&super::StatusDoc {
        schema: super::SCHEMA.into(),
        generated_at: "now".into(),
        stacks: vec![s],
    });
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains("http-equiv=\"refresh\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external asset"
    );
}

/// Chromium from Debian's package (`None`, after saying why, when absent outside CI).
fn chromium() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file());
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true and chromium is missing: .ci/run installs it"
        );
        eprintln!(
            "SKIPPED: chromium is not installed (apt-get install -y chromium); the page was not loaded in a browser"
        );
    }
    found
}

#[test]
fn an_app_named_with_a_script_is_shown_as_text_in_a_real_browser() {
    let Some(chromium) = chromium() else { return };
    let mut s = stack();
    s.apps[0].key = "<script>document.title='pwned'</script>".into();
    s.apps[1].name = "<img src=x onerror=\"document.title='pwned'\">".into();
    let html = page::render(&super::StatusDoc {
        schema: super::SCHEMA.into(),
        generated_at: "2026-11-25T10:00:00Z".into(),
        stacks: vec![s],
    });
    // A file, not the daemon: no Content-Security-Policy here, so only the escaping stops a script.
    let dir = std::env::temp_dir().join(format!("aca-status-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("page.html");
    std::fs::write(&file, html).unwrap();
    let out = std::process::Command::new(chromium)
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
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        dom.contains("<title>aca-operator status</title>"),
        "a script ran:\n{dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<script") && !dom.contains("<img"), "{dom}");
}

#[test]
fn the_status_table_has_a_row_per_stack_and_app_and_says_what_needs_attention() {
    let mut s = stack();
    let mut breach = drift("clickhouse", SINGLETON, DriftSeverity::Critical);
    breach.note = Some("a singleton must run exactly one replica".into());
    s.apply_pass(
        &report(vec![(breach, DriftOutcome::Alerted)]),
        &PassContext::default(),
        at(0),
    );
    let mut doc = super::StatusDoc {
        schema: super::SCHEMA.into(),
        generated_at: "2026-11-25T10:03:05Z".into(),
        stacks: vec![s],
    };
    assert!(!doc.healthy());
    let table = crate::commands::status::table(&doc);
    let lines: Vec<&str> = table.lines().collect();
    let cells = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>();
    assert_eq!(
        cells(0),
        ["STACK", "APP", "SYNCED", "HEALTHY", "HELD", "LAST", "DRIFT", "AGE"]
    );
    assert_eq!(cells(1)[..5], ["langfuse", "-", "False", "False", "False"]);
    assert_eq!(
        cells(2),
        [
            "langfuse",
            "clickhouse",
            "False",
            "False",
            "False",
            "template.scale.maxReplicas=3",
            "by",
            "alice@contoso.com",
            "(User)",
            "(alerted)",
            "3m"
        ]
    );
    assert_eq!(cells(3), ["langfuse", "langfuse", "True", "True", "False", "-", "-"]);
    assert!(
        table.contains("langfuse/clickhouse: Healthy InvariantBreached: ") && table.contains("exactly one replica"),
        "{table}"
    );

    s = doc.stacks.remove(0);
    s.apply_pass(&report(vec![]), &PassContext::default(), at(10));
    doc.stacks.push(s);
    assert!(doc.healthy());
}
