//! The owned part of a template: containers (image, resources, env, mounts, probes), volumes,
//! scale; forbidden containers and foreign exclusive volumes removed.

use aca_model::desired::{ContainerSpec, EnvValue};
use serde_json::{Value, json};

use super::probes::probe_json;
use super::{PatchInput, array, name_of, storage_type, upsert_by_name, volumes_on};
use crate::layout;
use crate::resolve::ResolveError;

pub(super) fn apply_template(template: &mut Value, input: &PatchInput) -> Result<(), ResolveError> {
    let spec = input.spec;
    if !template.is_object() {
        *template = json!({});
    }
    // Forbidden containers go, and so do volumes on exclusive storages this app does not own (with
    // their mounts).
    let foreign: Vec<String> = layout::exclusive_storages(input.stack)
        .filter(|s| !spec.storages().any(|o| o == *s))
        .map(str::to_string)
        .collect();
    let foreign_volumes: Vec<String> = volumes_on(template, &foreign)
        .iter()
        .filter_map(|v| name_of(v))
        .collect();
    {
        let containers = array(template, "containers");
        containers.retain(|c| {
            !c.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| spec.forbid_containers.iter().any(|f| f == n))
        });
        for c in containers.iter_mut() {
            if let Some(mounts) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                mounts.retain(|m| {
                    !m.get("volumeName")
                        .and_then(Value::as_str)
                        .is_some_and(|v| foreign_volumes.iter().any(|f| f == v))
                });
            }
        }
    }
    if !foreign_volumes.is_empty() {
        array(template, "volumes").retain(|v| {
            !v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| foreign_volumes.iter().any(|f| f == n))
        });
    }
    for c in &spec.containers {
        upsert_container(array(template, "containers"), c);
    }
    for (container, vars) in &spec.env {
        if let Some(c) = array(template, "containers")
            .iter_mut()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        {
            let env = array(c, "env");
            for var in vars {
                let mut entry = json!({ "name": var.name });
                match &var.value {
                    EnvValue::SecretRef(s) => entry["secretRef"] = json!(s),
                    EnvValue::Literal(t) => entry["value"] = json!(input.resolver.resolve(t)?),
                }
                upsert_by_name(env, entry);
            }
        }
    }
    for v in &spec.volumes {
        let entry = json!({ "name": v.name, "storageType": storage_type(input.storages, &v.storage), "storageName": v.storage });
        upsert_by_name(array(template, "volumes"), entry);
    }
    let scale = spec.desired_scale();
    if scale.min.is_some() || scale.max.is_some() {
        if !template.get("scale").is_some_and(Value::is_object) {
            template["scale"] = json!({});
        }
        if let Some(min) = scale.min {
            template["scale"]["minReplicas"] = json!(min);
        }
        if let Some(max) = scale.max {
            template["scale"]["maxReplicas"] = json!(max);
        }
    }
    // ARM answers an empty volume list as absent: keep the shape the live read had.
    if template
        .get("volumes")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
        && input.live.template().and_then(|t| t.volumes.as_ref()).is_none()
    {
        template.as_object_mut().expect("an object").remove("volumes");
    }
    Ok(())
}

fn upsert_container(containers: &mut Vec<Value>, c: &ContainerSpec) {
    let idx = match containers
        .iter()
        .position(|x| x.get("name").and_then(Value::as_str) == Some(&c.name))
    {
        Some(i) => i,
        None => {
            containers.push(json!({ "name": c.name }));
            containers.len() - 1
        }
    };
    let target = &mut containers[idx];
    if let Some(image) = &c.image {
        target["image"] = json!(image);
    }
    if c.cpu.is_some() || c.memory.is_some() {
        if !target.get("resources").is_some_and(Value::is_object) {
            target["resources"] = json!({});
        }
        // Keep the live number form when the quantity is equal (1 and 1.0 are the same CPU).
        if let Some(cpu) = c.cpu {
            let same = target["resources"]
                .get("cpu")
                .and_then(Value::as_f64)
                .and_then(|v| aca_model::quantity::Cpu::from_vcpu(v).ok())
                == Some(cpu);
            if !same {
                target["resources"]["cpu"] = json!(cpu.vcpu());
            }
        }
        if let Some(mem) = c.memory {
            let same = target["resources"]
                .get("memory")
                .and_then(Value::as_str)
                .and_then(|m| aca_model::quantity::Memory::parse(m).ok())
                == Some(mem);
            if !same {
                target["resources"]["memory"] = json!(mem.to_string());
            }
        }
    }
    if let Some(mounts) = &c.volume_mounts {
        let list: Vec<Value> = mounts
            .iter()
            .map(|m| {
                let mut v = json!({ "volumeName": m.volume, "mountPath": m.path });
                if let Some(sp) = &m.sub_path {
                    v["subPath"] = json!(sp);
                }
                v
            })
            .collect();
        target["volumeMounts"] = Value::Array(list);
    }
    if let Some(probes) = &c.probes {
        target["probes"] = Value::Array(probes.iter().map(probe_json).collect());
    }
}
