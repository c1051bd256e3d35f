//! The watch: Event Grid events from `--events-queue` become `Trigger::Key(stack, Cause::Watch)`
//! for every stack they concern. Events only trigger; each pass reads the state from ARM, so a
//! duplicate costs at most one more pass (the scheduler coalesces it with the pending one) and an
//! event out of order is harmless. Lost or late events are caught by each stack's interval.
//!
//! An event concerns a stack when it names, in the stack's subscription:
//!
//! | resource | the stack's |
//! |---|---|
//! | `Microsoft.App/managedEnvironments/{env}` (or anything under it: storages) | environment |
//! | `Microsoft.App/containerApps/{name}` (or its revisions, actions) | declared app, by name |
//! | any `Microsoft.App/containerApps` in the stack's resource group | a possible mounter of its storages (an invariant observes every app) |
//!
//! Anything else (other providers, other subscriptions, and `list*` actions, which are reads
//! every pass makes) is counted and dropped.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

use aca_controller::{Cause, Trigger};
use aca_events::{EventKind, ResourceEvent, Watch};
use aca_model::arm::ResourceId;
use aca_model::desired::{DesiredState, Stack};
use futures_util::{Stream, stream};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::error::EventsError;
use crate::metrics::Metrics;

/// Whether `event`'s resource concerns `stack` (see the module's table).
pub fn concerns(stack: &Stack, id: &ResourceId) -> bool {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if !same(&id.subscription, &stack.subscription) || !same(&id.namespace, "Microsoft.App") {
        return false;
    }
    let Some((kind, name)) = id.segments.first() else {
        return false;
    };
    if same(kind, "managedEnvironments") {
        return same(name, &stack.environment);
    }
    if same(kind, "containerApps") {
        return same(&id.resource_group, &stack.resource_group) || stack.apps.iter().any(|a| same(&a.name, name));
    }
    false
}

/// A read that ARM reports as an action (`listSecrets`, `listKeys`...): every pass makes some, so
/// triggering on them would run each stack again and again.
fn is_read(event: &ResourceEvent) -> bool {
    let action = match &event.operation_name {
        Some(op) => op
            .trim_end_matches("/action")
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        None => event.subject.text().rsplit('/').next().unwrap_or_default().to_string(),
    };
    event.kind == EventKind::Action && action.to_ascii_lowercase().starts_with("list")
}

/// The stacks `event` concerns, by name.
pub fn stacks_for(desired: &DesiredState, event: &ResourceEvent) -> Vec<String> {
    if is_read(event) {
        return Vec::new();
    }
    let Some(id) = event.subject.resource() else {
        return Vec::new();
    };
    desired
        .stacks
        .iter()
        .filter(|s| concerns(s, &id))
        .map(|s| s.name.clone())
        .collect()
}

/// Each event, after `on_event` (the hook where the reflector's `refresh(&ResourceId)` plugs in:
/// the cache is refreshed before the pass it triggers reads it), as one trigger per stack it
/// concerns.
pub fn triggers<F, Fut>(
    events: mpsc::Receiver<ResourceEvent>,
    desired: watch::Receiver<Arc<DesiredState>>,
    metrics: Arc<Metrics>,
    on_event: F,
) -> impl Stream<Item = Trigger<String>>
where
    F: FnMut(&ResourceEvent) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let state = (events, desired, metrics, on_event, VecDeque::<String>::new());
    stream::unfold(
        state,
        |(mut events, desired, metrics, mut on_event, mut pending)| async move {
            loop {
                if let Some(stack) = pending.pop_front() {
                    let trigger = Trigger::Key(stack, Cause::Watch);
                    return Some((trigger, (events, desired, metrics, on_event, pending)));
                }
                let event = events.recv().await?;
                // A read reported as an action (listSecrets) changes nothing: no re-read either,
                // or every pass's listSecrets would cost a GET.
                if !is_read(&event) {
                    on_event(&event).await;
                }
                let stacks = stacks_for(&desired.borrow(), &event);
                metrics.record_event(!stacks.is_empty());
                tracing::debug!(event = "resource_event", subject = %event.subject.text(),
                kind = ?event.kind, stacks = ?stacks, "event received");
                pending.extend(stacks);
            }
        },
    )
}

/// Starts reading `--events-queue` when given (the same credentials as ARM; HTTPS, or plain HTTP
/// toward loopback with `--allow-insecure-loopback`, then without a token).
pub fn start(args: &crate::cli::RunArgs, cancel: CancellationToken) -> Result<Option<Watch>, EventsError> {
    let Some(url) = &args.events_queue else { return Ok(None) };
    let parsed = aca_arm::ArmClient::lease_url_check(url, args.arm.allow_insecure_loopback).map_err(|source| {
        EventsError::Url {
            url: url.clone(),
            source,
        }
    })?;
    let credential = if parsed.scheme() == "https" {
        let settings = aca_arm::AuthSettings::from_env(args.arm.auth);
        Some(aca_arm::token_credential(&settings, args.arm.cloud, &parsed).map_err(EventsError::Credential)?)
    } else {
        None
    };
    let queue = aca_events::AzureQueue::new(&parsed, credential, args.arm.ca_cert.as_deref())?;
    tracing::info!(event = "events_watch", queue = %parsed, "reading resource events from the queue");
    Ok(Some(aca_events::spawn(queue, aca_events::Settings::default(), cancel)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
stacks:
  - name: one
    subscription: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg-one
    environment: cae-one
    apps:
      web: { name: web, containers: [{ name: web, image: nginx:1.27, cpu: 0.5, memory: 1Gi }] }
  - name: two
    subscription: 00000000-0000-0000-0000-000000000002
    resourceGroup: rg-two
    environment: cae-two
    apps:
      api: { name: api, containers: [{ name: api, image: nginx:1.27, cpu: 0.5, memory: 1Gi }] }
"#;

    fn desired() -> DesiredState {
        aca_model::desired::load_str(YAML, "test.yaml")
            .expect("valid desired state")
            .state
    }

    fn event(subject: &str) -> ResourceEvent {
        let text = serde_json::json!({"eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": subject})
            .to_string();
        aca_events::decode(&text).unwrap().remove(0)
    }

    const S1: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups";

    #[test]
    fn events_map_to_the_stacks_whose_environment_apps_or_group_they_name() {
        let d = desired();
        let of = |s: &str| stacks_for(&d, &event(s));
        assert_eq!(
            of(&format!("{S1}/rg-one/providers/Microsoft.App/containerApps/web")),
            ["one"]
        );
        assert_eq!(
            of(&format!(
                "{S1}/rg-one/providers/Microsoft.App/containerApps/web/revisions/web--r1/restart"
            )),
            ["one"]
        );
        assert_eq!(
            of(&format!(
                "{S1}/rg-env/providers/Microsoft.App/managedEnvironments/CAE-ONE/storages/data"
            )),
            ["one"]
        );
        // An undeclared app in the stack's group may mount its storage.
        assert_eq!(
            of(&format!("{S1}/rg-one/providers/Microsoft.App/containerApps/other")),
            ["one"]
        );
        // A declared app name in another subscription, another group's app, another provider.
        let none: [&str; 0] = [];
        assert_eq!(
            of(
                "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg-one/providers/Microsoft.App/containerApps/web"
            ),
            none
        );
        assert_eq!(
            of(&format!("{S1}/rg-x/providers/Microsoft.App/containerApps/other")),
            none
        );
        assert_eq!(
            of(&format!("{S1}/rg-one/providers/Microsoft.Storage/storageAccounts/web")),
            none
        );
        assert_eq!(of("/subscriptions/00000000-0000-0000-0000-000000000001"), none);
    }

    #[test]
    fn a_list_action_triggers_nothing_but_a_restart_does() {
        let d = desired();
        let app = format!("{S1}/rg-one/providers/Microsoft.App/containerApps/web");
        let action = |subject: String, op: &str| {
            let text = serde_json::json!({"eventType": "Microsoft.Resources.ResourceActionSuccess",
                "subject": subject, "data": {"operationName": op}})
            .to_string();
            aca_events::decode(&text).unwrap().remove(0)
        };
        let list = action(
            format!("{app}/listSecrets"),
            "Microsoft.App/containerApps/listSecrets/action",
        );
        assert!(stacks_for(&d, &list).is_empty());
        let restart = action(
            format!("{app}/revisions/web--r1/restart"),
            "Microsoft.App/containerApps/revisions/restart/action",
        );
        assert_eq!(stacks_for(&d, &restart), ["one"]);
    }

    #[tokio::test]
    async fn each_event_runs_the_hook_first_then_triggers_each_stack_it_concerns() {
        let (tx, rx) = mpsc::channel(8);
        let (_keep, desired) = watch::channel(Arc::new(desired()));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let hook_seen = seen.clone();
        let on_event = move |e: &ResourceEvent| {
            hook_seen.lock().unwrap().push(e.subject.text());
            async {}
        };
        let mut triggers = Box::pin(triggers(rx, desired, Arc::new(Metrics::new()), on_event));
        tx.send(event(&format!(
            "{S1}/rg-x/providers/Microsoft.App/containerApps/nobody"
        )))
        .await
        .unwrap();
        tx.send(event(&format!("{S1}/rg-one/providers/Microsoft.App/containerApps/web")))
            .await
            .unwrap();
        use futures_util::StreamExt;
        let t = triggers.next().await.unwrap();
        assert_eq!(t, Trigger::Key("one".to_string(), Cause::Watch));
        assert_eq!(
            seen.lock().unwrap().len(),
            2,
            "the hook saw both events, concerned or not"
        );
    }
}
