//! The command line a careful operator can trust, driven as a user would: the real binary against
//! the simulator on loopback. Exit codes, approved plans, the README's simulator journey.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aca_e2e::*;
use serde_json::{Value, json};

fn text(out: &std::process::Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn usage_errors_exit_64_never_2() {
    let bin = operator_binary();
    for args in [
        &["plan"][..],
        &["plan", "--output", "yaml", "-f", "x.yaml"],
        &["no-such-command"],
        &["apply", "--once"],
    ] {
        let out = Command::new(bin).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}\n{}", text(&out));
    }
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("64 usage error"),
        "exit codes are documented in --help:\n{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boolean_variables_take_the_usual_spellings() {
    let sim = sim().await;
    let file = repo().join("deploy/examples/langfuse.yaml");
    for (value, accepted) in [("1", true), ("yes", true), ("true", true), ("0", false), ("no", false)] {
        let out = operator(&sim, &["plan", "-f", file.to_str().unwrap()])
            .env("ACA_ALLOW_INSECURE_LOOPBACK", value)
            .output()
            .unwrap();
        // The sidecar layout has drift (2); a refused plain-HTTP endpoint is a runtime error (1).
        let expected = if accepted { 2 } else { 1 };
        assert_eq!(out.status.code(), Some(expected), "{value}\n{}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_without_a_terminal_needs_auto_approve_and_changes_nothing() {
    let sim = sim().await;
    let file = repo().join("deploy/examples/langfuse.yaml");
    let out = operator(&sim, &["apply", "-f", file.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("--auto-approve"), "{}", text(&out));
    assert!(writes(&requests(&sim).await).is_empty(), "nothing may be written");
    let out = operator(&sim, &["rollback", "-f", file.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(writes(&requests(&sim).await).is_empty(), "{}", text(&out));
}

fn save_plan(sim: &aca_sim::Simulator, file: &std::path::Path, plan_file: &std::path::Path) -> std::process::Output {
    let (file, plan_file) = (file.to_str().unwrap(), plan_file.to_str().unwrap());
    operator(sim, &["plan", "-f", file, "--out", plan_file])
        .output()
        .unwrap()
}

fn apply_saved(sim: &aca_sim::Simulator, plan_file: &std::path::Path) -> std::process::Output {
    operator(sim, &["apply", plan_file.to_str().unwrap(), "--auto-approve"])
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_refused_after_a_live_change_and_runs_when_nothing_moved() {
    let sim = sim().await;
    let dir = scratch("saved-plan");
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "30s")).unwrap();
    let plan_file = dir.join("plan.json");
    let out = save_plan(&sim, &file, &plan_file);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["plan"]["schemaVersion"], 1);
    assert!(saved["plan"]["summary"]["steps"].as_u64().unwrap() > 0, "{saved}");

    // A person edits Langfuse after the review: the approved plan no longer describes the world.
    person_patch(&sim, "langfuse", json!({"tags": {"edited": "after-review"}})).await;
    let before = writes(&requests(&sim).await).len();
    let out = apply_saved(&sim, &plan_file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("live state changed since the plan was approved"),
        "{said}"
    );
    assert!(
        said.contains("apps.langfuse") && said.contains("alice@contoso.com"),
        "says what changed: {said}"
    );
    assert_eq!(
        writes(&requests(&sim).await).len(),
        before,
        "a refused plan writes nothing"
    );

    // A fresh plan, nothing moves, and it runs.
    let out = save_plan(&sim, &file, &plan_file);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = apply_saved(&sim, &plan_file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = operator(&sim, &["plan", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "no drift after the approved plan ran: {}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_refused_when_its_desired_state_file_changed() {
    let sim = sim().await;
    let dir = scratch("saved-plan-file");
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "30s")).unwrap();
    let plan_file = dir.join("plan.json");
    save_plan(&sim, &file, &plan_file);
    std::fs::write(&file, example("observe", "30s")).unwrap();
    let out = apply_saved(&sim, &plan_file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("changed since the plan was made"), "{}", text(&out));
    assert!(writes(&requests(&sim).await).is_empty());
}

/// The README's "Against the local simulator" block, run verbatim (PORT filled in).
#[test]
fn the_readme_simulator_journey_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("Against the local simulator instead of Azure:")
        .expect("the section exists");
    let block = &readme[start..];
    let block = &block[block.find("```sh").unwrap() + 5..];
    let block = &block[..block.find("```").unwrap()];
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    let bin = operator_binary();
    let words = |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_string).collect() };

    let sim_cmd = commands[0]
        .strip_suffix('&')
        .expect("the simulator runs in the background");
    let w = words(sim_cmd);
    assert_eq!(w[0], "aca-operator");
    let mut sim = Command::new(bin).args(&w[1..]).stdout(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("prints its URL")
        .to_string();
    let port = url.rsplit(':').next().unwrap().to_string();

    let mut env = Vec::new();
    for pair in words(commands[1]).iter().skip(1) {
        let (k, v) = pair.split_once('=').unwrap();
        env.push((k.to_string(), v.replace("PORT", &port)));
    }
    let w = words(commands[2]);
    assert_eq!(w[0], "aca-operator");
    let out = Command::new(bin)
        .args(&w[1..])
        .current_dir(repo())
        .envs(env)
        .env_remove("ACA_AUTH")
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    assert_eq!(
        out.status.code(),
        Some(2),
        "the sidecar layout shows drift: {}",
        text(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Plan:"), "{}", text(&out));
}

/// A value taken from `${env:...}` is as secret as a secret: never in `plan` (text or JSON) or `apply`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_from_the_environment_never_appear_in_any_output() {
    const VALUE: &str = "sk-lf-env-value-3e9d";
    let sim = sim().await;
    let dir = scratch("env-secret");
    let file = dir.join("langfuse.yaml");
    let yaml = example("enforce", "30s").replace(
        "            CLICKHOUSE_CLUSTER_ENABLED: \"false\"\n          langfuse-worker:",
        "            CLICKHOUSE_CLUSTER_ENABLED: \"false\"\n            LANGFUSE_SECRET_FROM_ENV: \"${env:ACA_E2E_LF_SECRET}\"\n          langfuse-worker:",
    );
    assert!(yaml.contains("ACA_E2E_LF_SECRET"), "the example changed shape");
    std::fs::write(&file, yaml).unwrap();
    let f = file.to_str().unwrap();
    let mut outputs = Vec::new();
    for args in [
        &["plan", "-f", f][..],
        &["plan", "--output", "json", "-f", f],
        &["apply", "--auto-approve", "-f", f],
    ] {
        let out = operator(&sim, args).env("ACA_E2E_LF_SECRET", VALUE).output().unwrap();
        outputs.push((args.to_vec(), out));
    }
    let (_, plan) = &outputs[0];
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("LANGFUSE_SECRET_FROM_ENV: (absent) -> (sensitive)"),
        "the drift is shown, masked: {}",
        text(plan)
    );
    for (args, out) in &outputs {
        assert!(!text(out).contains(VALUE), "{args:?} printed the value: {}", text(out));
    }
    assert_eq!(outputs[2].1.status.code(), Some(0), "{}", text(&outputs[2].1));
    let live = app(&sim, "langfuse").await.to_string();
    assert!(
        live.contains(VALUE),
        "the value did reach the app: the masking hid nothing real"
    );
}

/// A saved plan records the `${env:}` values it was made with (as a digest): another value refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_refused_when_an_env_value_changed() {
    let sim = sim().await;
    let dir = scratch("saved-plan-env");
    let file = dir.join("langfuse.yaml");
    let yaml = example("enforce", "30s").replace(
        "            CLICKHOUSE_CLUSTER_ENABLED: \"false\"\n          langfuse-worker:",
        "            CLICKHOUSE_CLUSTER_ENABLED: \"false\"\n            FROM_ENV: \"${env:ACA_E2E_PLAN_VALUE}\"\n          langfuse-worker:",
    );
    assert!(yaml.contains("ACA_E2E_PLAN_VALUE"), "the example changed shape");
    std::fs::write(&file, yaml).unwrap();
    let plan_file = dir.join("plan.json");
    let (f, p) = (file.to_str().unwrap(), plan_file.to_str().unwrap());
    let out = operator(&sim, &["plan", "-f", f, "--out", p])
        .env("ACA_E2E_PLAN_VALUE", "first")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = operator(&sim, &["apply", p, "--auto-approve"])
        .env("ACA_E2E_PLAN_VALUE", "second")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("${env:...} variables"), "{}", text(&out));
    assert!(
        writes(&requests(&sim).await).is_empty(),
        "a refused plan writes nothing"
    );
}
