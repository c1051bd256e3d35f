//! Probes: a declared probe as ARM writes it, and a live one reduced to the declared fields.

use aca_model::desired::{ProbeAction, ProbeSpec};
use serde_json::{Value, json};

/// A declared probe as ARM writes it.
pub fn probe_json(p: &ProbeSpec) -> Value {
    let mut v = json!({ "type": p.kind.as_arm() });
    match &p.action {
        ProbeAction::Http { path, port } => v["httpGet"] = json!({ "path": path, "port": port }),
        ProbeAction::Tcp { port } => v["tcpSocket"] = json!({ "port": port }),
    }
    for (key, n) in [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("periodSeconds", p.period_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("failureThreshold", p.failure_threshold),
    ] {
        if let Some(n) = n {
            v[key] = json!(n);
        }
    }
    v
}

/// A live container's probes (kept in the container's unmodelled fields).
pub fn live_probes(c: &aca_model::arm::Container) -> Vec<Value> {
    c.extra
        .get("probes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Reduces a live probe to the fields `p` owns, so the two compare equal when they agree.
pub fn keep_declared(live: &mut Value, p: &ProbeSpec) {
    let declared = probe_json(p);
    if let (Some(l), Some(d)) = (live.as_object_mut(), declared.as_object()) {
        l.retain(|k, _| d.contains_key(k));
        for (k, inner) in [
            ("httpGet", ["path", "port"].as_slice()),
            ("tcpSocket", ["port"].as_slice()),
        ] {
            if let Some(o) = l.get_mut(k).and_then(Value::as_object_mut) {
                o.retain(|key, _| inner.contains(&key.as_str()));
            }
        }
    }
}
