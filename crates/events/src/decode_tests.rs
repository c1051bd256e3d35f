//! Fixtures written from the shapes the Event Grid docs show (event-schema-subscriptions,
//! event-schema-resources, the CloudEvents 1.0 schema); ids and times are ours.

use super::*;

const APP: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-langfuse/providers/Microsoft.App/containerApps/langfuse";

fn write_event(subject: &str) -> Value {
    serde_json::json!({
        "subject": subject,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": "2026-11-25T10:00:01.5Z",
        "id": "4db48cba-50a2-455a-93b4-de41a3b5b7f6",
        "data": {
            "authorization": {"scope": subject, "action": "Microsoft.App/containerApps/write"},
            "claims": {},
            "correlationId": "7ae2ae11-b6d2-4e74-8d8e-5f0a7ff30a5d",
            "resourceProvider": "Microsoft.App",
            "resourceUri": subject,
            "operationName": "Microsoft.App/containerApps/write",
            "status": "Succeeded",
            "subscriptionId": "00000000-0000-0000-0000-000000000001",
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"
        },
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000001"
    })
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn an_event_grid_write_decodes_with_its_arm_id_operation_and_time() {
    let events = decode(&write_event(APP).to_string()).unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, EventKind::Write);
    let Subject::Arm(id) = &e.subject else {
        panic!("not parsed: {e:?}")
    };
    assert_eq!(id.resource_group, "rg-langfuse");
    assert_eq!(id.segments, vec![("containerApps".to_string(), "langfuse".to_string())]);
    assert_eq!(e.operation_name.as_deref(), Some("Microsoft.App/containerApps/write"));
    assert_eq!(e.event_time.unwrap().unix_timestamp(), 1_795_600_801);
}

#[test]
fn base64_text_and_an_array_of_events_decode_the_same() {
    let one = write_event(APP);
    let plain = decode(&one.to_string()).unwrap();
    assert_eq!(decode(&b64(&one.to_string())).unwrap(), plain);
    let two = serde_json::json!([one.clone(), one]);
    assert_eq!(decode(&b64(&two.to_string())).unwrap().len(), 2);
}

#[test]
fn delete_and_action_events_have_their_kind_and_an_action_subject_keeps_its_resource() {
    let mut delete = write_event(APP);
    delete["eventType"] = "Microsoft.Resources.ResourceDeleteSuccess".into();
    assert_eq!(decode(&delete.to_string()).unwrap()[0].kind, EventKind::Delete);

    let restart = format!("{APP}/revisions/langfuse--r1/restart");
    let mut action = write_event(&restart);
    action["eventType"] = "Microsoft.Resources.ResourceActionSuccess".into();
    let e = &decode(&action.to_string()).unwrap()[0];
    assert_eq!(e.kind, EventKind::Action);
    assert_eq!(e.subject, Subject::Other(restart.clone()));
    let resource = e.subject.resource().unwrap();
    assert_eq!(resource.segments.len(), 2, "{resource:?}");
    assert_eq!(
        resource.segments[1],
        ("revisions".to_string(), "langfuse--r1".to_string())
    );
    assert_eq!(
        e.subject.subscription().as_deref(),
        Some("00000000-0000-0000-0000-000000000001")
    );
}

#[test]
fn resource_notifications_use_the_resource_info_id() {
    let v = serde_json::json!({
        "id": "1d5e7f1c-5b0e-4a36-9c3a-2f7d8f6f2a10",
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000001",
        "subject": APP,
        "data": {
            "resourceInfo": {"id": APP, "name": "langfuse", "type": "Microsoft.App/containerApps",
                             "location": "westeurope", "properties": {"provisioningState": "Succeeded"}},
            "operationalInfo": {"resourceEventTime": "2026-11-25T10:00:01Z"},
            "apiVersion": "2025-07-01"
        },
        "eventType": "Microsoft.ResourceNotifications.Resources.Deleted",
        "dataVersion": "1",
        "metadataVersion": "1",
        "eventTime": "2026-11-25T10:00:02Z"
    });
    let e = &decode(&v.to_string()).unwrap()[0];
    assert_eq!(e.kind, EventKind::Delete);
    assert!(
        matches!(&e.subject, Subject::Arm(id) if id.name() == "langfuse"),
        "{e:?}"
    );
    assert_eq!(e.operation_name, None);
}

#[test]
fn a_cloud_event_decodes_from_type_subject_and_time() {
    let v = serde_json::json!({
        "specversion": "1.0",
        "type": "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated",
        "source": "/subscriptions/00000000-0000-0000-0000-000000000001",
        "id": "b1c8d2e4-0f5a-4e3b-9c7d-6a5b4c3d2e1f",
        "time": "2026-11-25T10:00:03Z",
        "subject": APP,
        "data": {"resourceInfo": {"id": APP}}
    });
    let e = &decode(&b64(&v.to_string())).unwrap()[0];
    assert_eq!(e.kind, EventKind::Write);
    assert!(e.event_time.is_some());
}

#[test]
fn what_is_no_resource_event_is_a_typed_error() {
    assert_eq!(decode("hello, queue"), Err(DecodeError::NotJson));
    assert_eq!(decode(&b64("not json")), Err(DecodeError::NotJson));
    assert_eq!(decode("{\"a\": 1}"), Err(DecodeError::UnknownSchema));
    assert_eq!(decode("[]"), Err(DecodeError::Empty));
    let mut blob = write_event(APP);
    blob["eventType"] = "Microsoft.Storage.BlobCreated".into();
    assert_eq!(
        decode(&blob.to_string()),
        Err(DecodeError::UnsupportedType("Microsoft.Storage.BlobCreated".into()))
    );
    let mut nothing = write_event("");
    nothing["data"] = serde_json::json!({});
    assert_eq!(decode(&nothing.to_string()), Err(DecodeError::NoSubject));
    // One bad event in an array spoils the message: it is poison as a whole.
    let mixed = serde_json::json!([write_event(APP), blob]);
    assert!(decode(&mixed.to_string()).is_err());
}
