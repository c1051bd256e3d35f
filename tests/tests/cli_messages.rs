//! `validate` and `plan` report bad files in the project's words, located, through the real binary;
//! an unset `${env:NAME}` is an error (exit 1, never "drift"), a set one is never shown.

use std::process::{Command, Output};

use aca_e2e::*;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The Langfuse example with `from` replaced by `to` (the replacement must happen).
fn example_with(from: &str, to: &str) -> String {
    let text = example("enforce", "30s");
    assert!(text.contains(from), "the example has no `{from}`");
    text.replace(from, to)
}

#[test]
fn validate_reports_each_problem_located_and_in_our_words() {
    let dir = scratch("cli-messages");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dup.yaml",
            example_with("    mode: enforce\n", "    mode: enforce\n    mode: observe\n").into_bytes(),
            "dup.yaml:13:5: error: stacks[0].mode: key `mode` is given twice in this mapping",
        ),
        (
            "cpu.yaml",
            example_with("cpu: 1.0", "cpu: \"lots\"").into_bytes(),
            "error: stacks[0].apps.clickhouse.containers[0].cpu: expected a number of vCPU such as 0.5 or 1.0, found `lots`",
        ),
        (
            "interval.yaml",
            example_with("interval: 30s", "interval: [30]").into_bytes(),
            "interval.yaml:11:15: error: stacks[0].interval: expected a duration such as 30s, found a list",
        ),
        (
            "image.yaml",
            example_with("clickhouse/clickhouse-server:24.8-alpine", "not an image !!").into_bytes(),
            "error: stacks[0].apps.clickhouse.containers[0].image: the image reference contains ' '",
        ),
        (
            "deep.yaml",
            format!("stacks: {}{}\n", "[".repeat(70), "]".repeat(70)).into_bytes(),
            "deep.yaml:1:",
        ),
        (
            "latin1.yaml",
            b"stacks:\n  - name: caf\xe9\n".to_vec(),
            "latin1.yaml:2:14: error: byte 0xE9 is not UTF-8 text",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = Command::new(operator_binary())
            .args(["validate", path.to_str().unwrap()])
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}\n{all}");
        assert!(all.contains(expected), "{name}: no `{expected}` in\n{all}");
        for internal in [
            "DuplicateKeyPolicy",
            "budget breached",
            "Depth {",
            "Nodes {",
            "NaN",
            "``",
        ] {
            assert!(!all.contains(internal), "{name}: `{internal}` in\n{all}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unset_env_reference_fails_validate_and_plan_and_a_set_one_is_never_printed() {
    let sim = sim().await;
    let dir = scratch("cli-env");
    let path = dir.join("env.yaml");
    let yaml = example_with(
        "CLICKHOUSE_CLUSTER_ENABLED: \"false\"",
        "CLICKHOUSE_CLUSTER_ENABLED: \"false\"\n            LANGFUSE_TOKEN: \"${env:ACA_TEST_TOKEN_VALUE}\"",
    );
    std::fs::write(&path, yaml).unwrap();
    let file = path.to_str().unwrap();

    for args in [&["validate", file][..], &["plan", "-f", file]] {
        let out = operator(&sim, args)
            .env_remove("ACA_TEST_TOKEN_VALUE")
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{all}");
        assert!(
            all.contains(
                "`${env:ACA_TEST_TOKEN_VALUE}`: the operator's environment variable ACA_TEST_TOKEN_VALUE is not set"
            ),
            "{args:?}\n{all}"
        );
        assert!(all.contains("env.yaml:"), "located: {all}");
    }

    let secret = "sk-lf-do-not-print-0123456789";
    let out = operator(&sim, &["validate", file])
        .env("ACA_TEST_TOKEN_VALUE", secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(secret), "{}", text(&out));
}
