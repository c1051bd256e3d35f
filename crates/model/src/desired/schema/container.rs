//! One container: image, resources, probes and environment.

use super::super::diagnostic::Diagnostics;
use super::super::types::*;
use super::super::yaml::Value;
use super::fields::*;
use crate::quantity::{Cpu, Memory};

pub(super) fn read_containers(d: &mut Diagnostics, app: &Obj) -> Vec<ContainerSpec> {
    let mut out: Vec<ContainerSpec> = Vec::new();
    for (i, node) in app.seq(d, "containers").unwrap_or(&[]).iter().enumerate() {
        let path = format!("{}[{i}]", app.field("containers"));
        let Some(obj) = Obj::open(d, node, &path, "container") else {
            continue;
        };
        let Some(name) = obj.required_string(d, "name") else {
            continue;
        };
        if out.iter().any(|c| c.name == name) {
            d.error(node.loc, &path, format!("container `{name}` is declared twice"), None);
            continue;
        }
        let cpu = obj.get("cpu").and_then(|n| {
            let v = match n.value {
                Value::Int(i) => Some(i as f64),
                Value::Float(f) => Some(f),
                Value::Str(ref s) => s.trim().parse().ok(),
                _ => None,
            };
            let Some(v) = v else {
                let found = match &n.value {
                    Value::Str(s) => format!("`{s}`"),
                    other => other.kind().to_string(),
                };
                d.error(
                    n.loc,
                    &obj.field("cpu"),
                    format!("expected a number of vCPU such as 0.5 or 1.0, found {found}"),
                    None,
                );
                return None;
            };
            Cpu::from_vcpu(v)
                .map_err(|e| d.error(n.loc, &obj.field("cpu"), e.to_string(), None))
                .ok()
        });
        let memory = obj.get("memory").and_then(|n| {
            let text = n.value.scalar_text().unwrap_or_default();
            Memory::parse(&text)
                .map_err(|e| d.error(n.loc, &obj.field("memory"), e.to_string(), None))
                .ok()
        });
        let volume_mounts = obj.seq(d, "volumeMounts").map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(j, m)| {
                    let mp = format!("{}[{j}]", obj.field("volumeMounts"));
                    let mo = Obj::open(d, m, &mp, "volumeMount")?;
                    let volume = mo.required_string(d, "volume");
                    let path = mo.required_string(d, "path");
                    if let (Some(p), Some(n)) = (&path, mo.get("path"))
                        && !p.starts_with('/')
                    {
                        d.error(
                            n.loc,
                            &mo.field("path"),
                            format!("mount path `{p}` must be absolute"),
                            None,
                        );
                    }
                    Some(MountSpec {
                        volume: volume?,
                        path: path?,
                        sub_path: mo.string(d, "subPath"),
                    })
                })
                .collect()
        });
        let probes = read_probes(d, &obj);
        out.push(ContainerSpec {
            name,
            image: obj.string(d, "image").filter(|image| {
                let checked = super::super::image::check_image_reference(image);
                if let (Err(message), Some(n)) = (&checked, obj.get("image")) {
                    d.error(n.loc, &obj.field("image"), message.clone(), Some(IMAGE_HINT.into()));
                }
                checked.is_ok()
            }),
            cpu,
            memory,
            volume_mounts,
            probes,
            loc: node.loc,
        });
    }
    out
}

pub(super) const IMAGE_HINT: &str =
    "an image reference is [registry[:port]/]repository[:tag][@sha256:digest], e.g. docker.io/library/postgres:16";

/// A container's `probes`: each with one action, at most one of each kind.
pub(super) fn read_probes(d: &mut Diagnostics, container: &Obj) -> Option<Vec<ProbeSpec>> {
    let items = container.seq(d, "probes")?;
    let mut out: Vec<ProbeSpec> = Vec::new();
    for (i, node) in items.iter().enumerate() {
        let path = format!("{}[{i}]", container.field("probes"));
        let Some(obj) = Obj::open(d, node, &path, "probe") else {
            continue;
        };
        let kind = obj.required_string(d, "type").and_then(|t| {
            let k = ProbeKind::parse(&t);
            if k.is_none() {
                d.error(
                    node.loc,
                    &obj.field("type"),
                    format!("`{t}` is not a probe type: use liveness, readiness or startup"),
                    None,
                );
            }
            k
        });
        let http = obj.get("httpGet").and_then(|n| {
            let o = Obj::open(d, n, &obj.field("httpGet"), "probeHttp")?;
            let path = o.required_string(d, "path");
            let port = o.required(d, "port").and_then(|_| o.port(d, "port"));
            if let (Some(p), Some(n)) = (&path, o.get("path"))
                && !p.starts_with('/')
            {
                d.error(
                    n.loc,
                    &o.field("path"),
                    format!("probe path `{p}` must start with /"),
                    None,
                );
            }
            Some(ProbeAction::Http {
                path: path?,
                port: port?,
            })
        });
        let tcp = obj.get("tcpSocket").and_then(|n| {
            let o = Obj::open(d, n, &obj.field("tcpSocket"), "probeTcp")?;
            let port = o.required(d, "port").and_then(|_| o.port(d, "port"));
            Some(ProbeAction::Tcp { port: port? })
        });
        let action = match (
            http,
            tcp,
            obj.get("httpGet").is_some() || obj.get("tcpSocket").is_some(),
        ) {
            (Some(a), None, _) | (None, Some(a), _) => Some(a),
            (Some(_), Some(_), _) => {
                d.error(
                    node.loc,
                    &path,
                    "a probe has either httpGet or tcpSocket, not both".to_string(),
                    None,
                );
                None
            }
            (None, None, false) => {
                d.error(node.loc, &path, "a probe needs httpGet or tcpSocket".to_string(), None);
                None
            }
            (None, None, true) => None,
        };
        let (Some(kind), Some(action)) = (kind, action) else {
            continue;
        };
        if out.iter().any(|p| p.kind == kind) {
            d.error(
                node.loc,
                &path,
                format!("a second {} probe", kind.as_arm().to_ascii_lowercase()),
                None,
            );
            continue;
        }
        out.push(ProbeSpec {
            kind,
            action,
            initial_delay_seconds: obj.int(d, "initialDelaySeconds", 0..=60, "seconds"),
            period_seconds: obj.int(d, "periodSeconds", 1..=240, "seconds"),
            timeout_seconds: obj.int(d, "timeoutSeconds", 1..=240, "seconds"),
            failure_threshold: obj.int(d, "failureThreshold", 1..=10, "a count"),
        });
    }
    Some(out)
}
