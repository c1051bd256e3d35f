//! The migration traps of the second round (`shared/FACTS.md`): each preflight check firing and
//! not firing, against the simulator's `sidecar` layout (ClickHouse 24.8 as a sidecar, Langfuse 3
//! logging in as `clickhouse` with the password in a secret).

mod simulated;

use aca_arm::ArmClient;
use aca_model::desired::{Stack, load_str};
use aca_reconcile::{Finding, Level, observe, preflight};
use aca_sim::scenario::SIDECAR_CLICKHOUSE_PASSWORD;
use aca_sim::{SimConfig, Simulator};

/// A stack with a dedicated ClickHouse app; each field is YAML spliced into it.
struct Yaml {
    image: &'static str,
    /// Lines under the ClickHouse container's `env:` (14 spaces indent), empty for none.
    ch_env: String,
    /// Lines under the ClickHouse app's `secrets:` (10 spaces indent), empty for none.
    ch_secrets: String,
    /// More keys of the ClickHouse container (12 spaces indent).
    ch_container: String,
    /// More keys of the Langfuse app (8 spaces indent).
    langfuse: String,
}

impl Default for Yaml {
    fn default() -> Self {
        Yaml {
            image: "clickhouse/clickhouse-server:24.8-alpine",
            ch_env: "              CLICKHOUSE_USER: clickhouse\n              CLICKHOUSE_PASSWORD: { secretRef: pw }\n"
                .into(),
            ch_secrets: format!("          pw: \"{SIDECAR_CLICKHOUSE_PASSWORD}\"\n"),
            ch_container: String::new(),
            langfuse: String::new(),
        }
    }
}

impl Yaml {
    fn stack(&self) -> Stack {
        let env = if self.ch_env.is_empty() {
            String::new()
        } else {
            format!("            env:\n{}", self.ch_env)
        };
        let secrets = if self.ch_secrets.is_empty() {
            String::new()
        } else {
            format!("        secrets:\n{}", self.ch_secrets)
        };
        let text = format!(
            "stacks:
  - name: langfuse
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg-langfuse
    environment: cae-langfuse
    storages:
      clickhouse-data: {{ exclusive: true }}
    apps:
      clickhouse:
        name: langfuse-clickhouse
        singleton: true
        containers:
          - name: clickhouse
            image: {}
            cpu: 1
            memory: 2Gi
{env}{}{secrets}        volumes: [{{ name: data, storage: clickhouse-data }}]
        ingress: {{ targetPort: 8123, transport: http }}
      langfuse:
        name: langfuse
        forbidContainers: [clickhouse]
        secrets:
          clickhouse-url: \"http://${{apps.clickhouse.name}}\"
{}",
            self.image, self.ch_container, self.langfuse
        );
        load_str(&text, "t.yaml")
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .state
            .stacks
            .remove(0)
    }
}

async fn setup() -> (Simulator, ArmClient) {
    let sim = aca_e2e::sidecar_sim(SimConfig::default()).await;
    let client = simulated::client(&sim);
    (sim, client)
}

async fn findings(client: &ArmClient, stack: &Stack) -> Vec<Finding> {
    let observed = observe(client, stack).await.unwrap();
    let out = preflight(stack, &observed);
    for f in &out {
        assert!(
            !f.to_string().contains(SIDECAR_CLICKHOUSE_PASSWORD),
            "a value leaked: {f}"
        );
    }
    out
}

fn of<'a>(all: &'a [Finding], check: &str) -> Vec<&'a Finding> {
    all.iter().filter(|f| f.check == check).collect()
}

#[tokio::test]
async fn the_shipped_example_has_no_error_against_the_sidecar_layout() {
    let (sim, client) = setup().await;
    let stack = aca_e2e::example_stack();
    let all = findings(&client, &stack).await;
    assert!(all.iter().all(|f| f.level < Level::Error), "{all:#?}");
    for check in [
        "clickhouse-credentials",
        "clickhouse-downgrade",
        "floating-tag",
        "langfuse-clickhouse-version",
        "clickhouse-timezone",
        "clickhouse-readiness",
    ] {
        assert!(of(&all, check).is_empty(), "{check}: {all:#?}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn clickhouse_without_a_user_is_an_error_and_skip_user_setup_a_warning() {
    let (sim, client) = setup().await;
    let none = Yaml {
        ch_env: String::new(),
        ch_secrets: String::new(),
        ..Yaml::default()
    };
    let all = findings(&client, &none.stack()).await;
    let f = of(&all, "clickhouse-credentials");
    assert_eq!(f.len(), 1, "{all:#?}");
    assert_eq!(f[0].level, Level::Error);
    assert!(f[0].what.contains("no network access"), "{}", f[0]);
    assert!(f[0].sources.contains("clickhouse.com"));

    let skip = Yaml {
        ch_env: "              CLICKHOUSE_SKIP_USER_SETUP: \"1\"\n".into(),
        ch_secrets: String::new(),
        ..Yaml::default()
    };
    let all = findings(&client, &skip.stack()).await;
    let f = of(&all, "clickhouse-credentials");
    assert_eq!(f.len(), 1, "{all:#?}");
    assert_eq!(f[0].level, Level::Warning);

    // The sidecar's user and password, the password compared by digest with Langfuse's live secret.
    let all = findings(&client, &Yaml::default().stack()).await;
    assert!(of(&all, "clickhouse-credentials").is_empty(), "{all:#?}");
    sim.stop().await;
}

#[tokio::test]
async fn langfuse_credentials_that_differ_from_clickhouses_are_errors_without_values() {
    let (sim, client) = setup().await;
    // Another password than the one Langfuse's live secret holds (read with listSecrets).
    let other = Yaml {
        ch_secrets: "          pw: \"a-different-password\"\n".into(),
        ..Yaml::default()
    };
    let all = findings(&client, &other.stack()).await;
    let f = of(&all, "clickhouse-credentials");
    assert_eq!(f.len(), 2, "web and worker: {all:#?}");
    assert!(
        f.iter()
            .all(|f| f.level == Level::Error && f.what.contains("CLICKHOUSE_PASSWORD does not match"))
    );
    assert!(f.iter().all(|f| !f.to_string().contains("a-different-password")));

    let user = Yaml {
        ch_env: "              CLICKHOUSE_USER: admin\n              CLICKHOUSE_PASSWORD: { secretRef: pw }\n".into(),
        ..Yaml::default()
    };
    let all = findings(&client, &user.stack()).await;
    let f = of(&all, "clickhouse-credentials");
    assert_eq!(f.len(), 2, "{all:#?}");
    assert!(
        f[0].what.contains("\"clickhouse\"") && f[0].what.contains("\"admin\""),
        "{}",
        f[0]
    );

    // The same Key Vault secret on both sides matches by reference.
    let kv = "{ keyVaultUrl: \"https://kv.vault.azure.net/secrets/pw\", identity: system }";
    let same = Yaml {
        ch_secrets: format!("          pw: {kv}\n"),
        langfuse: format!(
            "          pw: {kv}\n        env:\n          langfuse-web: {{ CLICKHOUSE_PASSWORD: {{ secretRef: pw }} }}\n          langfuse-worker: {{ CLICKHOUSE_PASSWORD: {{ secretRef: pw }} }}\n"
        ),
        ..Yaml::default()
    };
    let all = findings(&client, &same.stack()).await;
    assert!(of(&all, "clickhouse-credentials").is_empty(), "{all:#?}");
    sim.stop().await;
}

#[tokio::test]
async fn an_older_clickhouse_than_the_sidecars_is_a_downgrade() {
    let (sim, client) = setup().await;
    let old = Yaml {
        image: "clickhouse/clickhouse-server:24.3-alpine",
        ..Yaml::default()
    };
    let all = findings(&client, &old.stack()).await;
    let f = of(&all, "clickhouse-downgrade");
    assert_eq!(f.len(), 1, "{all:#?}");
    assert_eq!(f[0].level, Level::Error);
    assert!(
        f[0].what.contains("24.3") && f[0].what.contains("runs 24.8"),
        "{}",
        f[0]
    );
    assert!(
        f[0].what.contains("apps.langfuse: container `clickhouse`"),
        "the sidecar: {}",
        f[0]
    );

    let newer = Yaml {
        image: "clickhouse/clickhouse-server:25.3.2.39",
        ..Yaml::default()
    };
    assert!(of(&findings(&client, &newer.stack()).await, "clickhouse-downgrade").is_empty());

    for image in [
        "clickhouse/clickhouse-server:latest-alpine",
        "clickhouse/clickhouse-server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        let unknown = Yaml {
            image,
            ..Yaml::default()
        };
        let all = findings(&client, &unknown.stack()).await;
        let f = of(&all, "clickhouse-downgrade");
        assert_eq!(f.len(), 1, "{image}: {all:#?}");
        assert_eq!(f[0].level, Level::Warning);
        assert!(f[0].what.contains("cannot be checked"), "{}", f[0]);
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_floating_tag_on_a_singleton_is_a_warning() {
    let (sim, client) = setup().await;
    for image in [
        "clickhouse/clickhouse-server:latest-alpine",
        "clickhouse/clickhouse-server",
    ] {
        let floating = Yaml {
            image,
            ..Yaml::default()
        };
        let all = findings(&client, &floating.stack()).await;
        let f = of(&all, "floating-tag");
        assert_eq!(f.len(), 1, "{image}: {all:#?}");
        assert_eq!(f[0].level, Level::Warning);
    }
    let all = findings(&client, &Yaml::default().stack()).await;
    assert!(of(&all, "floating-tag").is_empty(), "{all:#?}");
    sim.stop().await;
}

#[tokio::test]
async fn langfuse_4_needs_clickhouse_25_12() {
    let (sim, client) = setup().await;
    let v4 = |image| Yaml {
        image,
        langfuse: "        containers: [{ name: langfuse-web, image: \"langfuse/langfuse:4\" }]\n".into(),
        ..Yaml::default()
    };
    let all = findings(&client, &v4("clickhouse/clickhouse-server:24.8-alpine").stack()).await;
    let f = of(&all, "langfuse-clickhouse-version");
    assert_eq!(f.len(), 1, "only web runs 4: {all:#?}");
    assert_eq!(f[0].level, Level::Error);
    assert!(
        f[0].what.contains(">= 25.12") && f[0].what.contains("langfuse-web"),
        "{}",
        f[0]
    );

    let all = findings(&client, &v4("clickhouse/clickhouse-server:25.12-alpine").stack()).await;
    assert!(of(&all, "langfuse-clickhouse-version").is_empty(), "{all:#?}");
    // Langfuse 3 (the sidecar layout's) with ClickHouse 24.8: fine.
    let all = findings(&client, &Yaml::default().stack()).await;
    assert!(of(&all, "langfuse-clickhouse-version").is_empty(), "{all:#?}");
    sim.stop().await;
}

#[tokio::test]
async fn clickhouse_off_utc_is_a_warning() {
    let (sim, client) = setup().await;
    let tz = |zone: &str| Yaml {
        ch_env: format!("{}              TZ: {zone}\n", Yaml::default().ch_env),
        ..Yaml::default()
    };
    let all = findings(&client, &tz("Europe/Berlin").stack()).await;
    let f = of(&all, "clickhouse-timezone");
    assert_eq!(f.len(), 1, "{all:#?}");
    assert_eq!(f[0].level, Level::Warning);
    assert!(f[0].what.contains("Europe/Berlin"));
    let all = findings(&client, &tz("Etc/UTC").stack()).await;
    assert!(of(&all, "clickhouse-timezone").is_empty(), "{all:#?}");

    let mount = Yaml {
        ch_container: "            volumeMounts: [{ volume: data, path: /var/lib/clickhouse }, { volume: data, path: /etc/clickhouse-server/config.d, subPath: config }]\n".into(),
        ..Yaml::default()
    };
    let all = findings(&client, &mount.stack()).await;
    let f = of(&all, "clickhouse-timezone");
    assert_eq!(f.len(), 1, "{all:#?}");
    assert_eq!(f[0].level, Level::Info);
    sim.stop().await;
}

#[tokio::test]
async fn clickhouse_without_a_readiness_probe_is_a_warning() {
    let (sim, client) = setup().await;
    let all = findings(&client, &Yaml::default().stack()).await;
    let f = of(&all, "clickhouse-readiness");
    assert_eq!(f.len(), 1, "{all:#?}");
    assert_eq!(f[0].level, Level::Warning);
    assert!(f[0].remedy.contains("/ping"));
    // A startup probe alone does not say ClickHouse answers.
    let startup = Yaml {
        ch_container: "            probes: [{ type: startup, tcpSocket: { port: 9000 } }]\n".into(),
        ..Yaml::default()
    };
    assert_eq!(
        of(&findings(&client, &startup.stack()).await, "clickhouse-readiness").len(),
        1
    );
    let ready = Yaml {
        ch_container: "            probes: [{ type: readiness, httpGet: { path: /ping, port: 8123 } }]\n".into(),
        ..Yaml::default()
    };
    let all = findings(&client, &ready.stack()).await;
    assert!(of(&all, "clickhouse-readiness").is_empty(), "{all:#?}");
    sim.stop().await;
}

#[tokio::test]
async fn internal_tcp_without_a_vnet_is_expected_to_work() {
    let (sim, client) = setup().await;
    let tcp = Yaml {
        langfuse: String::new(),
        ..Yaml::default()
    }
    .stack();
    let mut stack = tcp;
    stack.apps[0].additional_ports = Some(vec![aca_model::desired::PortSpec {
        target_port: 9000,
        exposed_port: None,
        external: false,
    }]);
    let all = findings(&client, &stack).await;
    let f = of(&all, "internal-tcp-without-vnet");
    assert_eq!(f.len(), 1, "{all:#?}");
    assert_eq!(f[0].level, Level::Info);
    assert!(
        f[0].what.contains("expected to work") && !f[0].what.contains("disagree"),
        "{}",
        f[0]
    );
    assert!(f[0].sources.contains("ContainerAppTcpRequiresVnet"));
    stack.apps[0].additional_ports = None;
    assert!(of(&findings(&client, &stack).await, "internal-tcp-without-vnet").is_empty());
    sim.stop().await;
}
