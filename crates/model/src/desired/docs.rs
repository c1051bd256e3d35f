//! The configuration reference (`docs/configuration.md`), generated from [`SCHEMA`] so it cannot
//! drift from what the loader accepts.

use std::fmt::Write as _;

use super::keys::SCHEMA;
use crate::quantity::consumption_combinations;

/// Objects in documentation order, with where they appear.
const OBJECTS: &[(&str, &str)] = &[
    ("document", "The top level of a desired-state file."),
    (
        "stack",
        "An item of `stacks`: a managed environment and the apps in it.",
    ),
    (
        "storage",
        "A value of `storages` (keyed by the environment storage's name).",
    ),
    ("app", "A value of `apps` (keyed by a name that references use)."),
    ("scale", "`apps.<key>.scale`."),
    ("container", "An item of `apps.<key>.containers`."),
    ("volumeMount", "An item of a container's `volumeMounts`."),
    ("probe", "An item of a container's `probes` (one of each type at most)."),
    ("probeHttp", "A probe's `httpGet`."),
    ("probeTcp", "A probe's `tcpSocket`."),
    ("volume", "An item of `apps.<key>.volumes`."),
    ("ingress", "`apps.<key>.ingress`."),
    ("additionalPort", "An item of `apps.<key>.additionalPorts`."),
    (
        "env",
        "A variable's value in an env map, in its object form (a plain string is a literal value).",
    ),
    (
        "keyVault",
        "A secret's value in its object form (a plain string is the secret's value).",
    ),
];

pub fn configuration_reference() -> String {
    let mut out = String::new();
    out.push_str("# Configuration reference\n\n");
    out.push_str("<!-- Generated from crates/model/src/desired/keys.rs (SCHEMA) by the test `configuration_reference_is_up_to_date`; run `UPDATE_DOCS=1 cargo test -p aca-model --test docs` to refresh. -->\n\n");
    out.push_str("A desired-state file declares stacks. Only what it declares is owned: compared, and corrected in `enforce` mode. \
Anything else on the live resources (image tags bumped by a pipeline, probes, tags, other containers) is left alone. \
`aca-operator validate FILE...` checks files without contacting Azure; every problem is reported with `file:line:column`, the field path and a hint.\n\n");
    out.push_str("Examples: [`deploy/examples/`](../deploy/examples/); every key: [`deploy/examples/all-keys.yaml`](../deploy/examples/all-keys.yaml).\n\n");
    for (object, what) in OBJECTS {
        let _ = writeln!(
            out,
            "## `{object}`\n\n{what}\n\n| key | type | default | meaning |\n|---|---|---|---|"
        );
        for k in SCHEMA.iter().filter(|k| k.object == *object) {
            let cell = |t: &str| t.replace('|', "\\|");
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                k.key,
                cell(k.ty),
                cell(k.default),
                cell(k.doc)
            );
        }
        out.push('\n');
    }
    out.push_str(RULES);
    out.push_str("\n### CPU and memory (Consumption profile)\n\nThe total over an app's declared containers, when each declares both, must be one of (vCPU / memory):\n");
    let combos: Vec<String> = consumption_combinations().map(|(c, m)| format!("{c} / {m}")).collect();
    let _ = writeln!(
        out,
        "{}.\n\nSource: learn.microsoft.com/azure/container-apps/containers, *Allocations* (above 2 vCPU only in a workload-profiles environment). Apps with `workloadProfile` other than `Consumption` are not checked.",
        combos.join(", ")
    );
    out
}

const RULES: &str = r#"## References

Strings in `secrets` and `env` values may contain references, resolved at each pass:

| reference | value |
|---|---|
| `${apps.<key>.name}` | the ARM name of the app declared under `apps.<key>` |
| `${apps.<key>.fqdn}` | `<name>.internal.<defaultDomain>` (internal ingress) or `<name>.<defaultDomain>`; known before the app exists |
| `${environment.defaultDomain}` | the environment's default domain |
| `${env:NAME}` | the operator process's environment variable `NAME` (keeps secret values out of the file); unset is an error of `validate`, `plan` and `run` |
| `$$` | a literal `$` |

## Validation rules

Errors (the file is refused; nothing is sent to ARM):
- YAML syntax; a file that is not UTF-8 (at its first bad byte); a key given twice in one mapping (at the second); a tab in indentation (reported, then the rest is still checked); an unknown key (with "did you mean"); a wrong type; a document nested more than 64 levels deep or holding more than 250000 values.
- An `image` that is not a reference registries accept: `[registry[:port]/]repository[:tag][@sha256:digest]`, the repository in lower case.
- A `${env:NAME}` whose variable is not set in the operator's environment (only the name is ever shown).
- `subscription` is not a GUID; `interval` is not a duration of at least 100ms; `mode` not `enforce`/`observe`.
- An app name that Container Apps refuses (2-32 chars, lower-case letters, digits, `-`, letter first, no `--`, not ending in `-`); two apps with the same name in a stack; one app owned by two stacks; two stacks with the same name.
- `singleton: true` with a `scale.min` or `scale.max` other than 1; `min > max`; replicas out of 0-1000 / 1-1000.
- A port out of 1-65535; `exposedPort` without `transport: tcp`, or 80/443; `allowInsecure` on TCP; more than 5 additional ports; a target port used twice.
- A container both declared and forbidden; env declared for a forbidden container; the same container's env declared inline and under `env`.
- A volume on a storage not declared under `storages`; a mount of a volume the app does not declare; a relative mount path.
- An exclusive storage mounted by two apps; `updateStrategy: rolling` on an app with an exclusive storage (it would run two revisions on it during every update).
- A `${...}` reference to nothing (an unknown app key or attribute), or to the FQDN of an app without ingress.
- A CPU/memory total Container Apps does not accept (table below).
- Container Apps facts: a `tcp://<app>:<port>` URL to an app without that TCP port; an `http(s)://` URL to an HTTP-ingress app at its target port; an app with TCP ports and `scale.min: 0`.
- The playbooks' rules for particular software (docs/migration.md, "Playbook"), given to the loader by `aca-operator`.

Warnings (the file loads):
- An app with TCP ports that does not declare `scale.min` (the default is 0, and TCP traffic does not wake an app).
- An env `secretRef` to a secret the app does not declare (it must exist in the live app).

Preflight (with live state, at each pass; errors block corrections): see docs/migration.md and `aca-operator plan`.
"#;
