use super::*;

const APP: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.App/containerApps/web";

fn decode64(text: &str) -> String {
    const A: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| *c != '=') {
        bits = (bits << 6) | A.find(c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A sink whose queue is a channel the test reads.
fn sink() -> (EventSink, mpsc::UnboundedReceiver<Outgoing>) {
    let sink = EventSink::default();
    let (tx, rx) = mpsc::unbounded_channel();
    sink.inner.lock().unwrap().tx = Some(tx);
    (sink, rx)
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Outgoing>) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(m) = rx.try_recv() {
        out.push(serde_json::from_str(&decode64(&m.text)).unwrap_or(Value::Null));
    }
    out
}

fn fault(path: &str, action: EventFaultAction) -> EventFault {
    EventFault {
        path: path.into(),
        action,
        delay_ms: None,
        times: Some(1),
        fired: 0,
    }
}

#[test]
fn encode_is_standard_base64_with_padding() {
    assert_eq!(encode("ab"), "YWI=");
    assert_eq!(encode("abc"), "YWJj");
    assert_eq!(encode("a"), "YQ==");
}

#[test]
fn writes_deletes_and_actions_make_events_shaped_as_the_subscription_topic_sends_them() {
    let (sink, mut rx) = sink();
    sink.after_write("PATCH", APP, 202);
    sink.after_write("DELETE", APP, 200);
    sink.after_write("POST", &format!("{APP}/revisions/web--r1/restart"), 200);
    sink.after_write("GET", APP, 200);
    sink.after_write("PUT", APP, 409);
    sink.after_write("PUT", "/_sim/state", 200);
    let events = drain(&mut rx);
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0]["eventType"], "Microsoft.Resources.ResourceWriteSuccess");
    assert_eq!(events[0]["subject"], APP);
    assert_eq!(events[0]["data"]["operationName"], "Microsoft.App/containerApps/write");
    assert_eq!(events[0]["topic"], "/subscriptions/s1");
    assert_eq!(events[1]["eventType"], "Microsoft.Resources.ResourceDeleteSuccess");
    assert_eq!(
        events[2]["data"]["operationName"],
        "Microsoft.App/containerApps/revisions/restart/action"
    );
}

#[test]
fn faults_drop_duplicate_poison_reorder_and_delay_and_each_records_that_it_fired() {
    let (sink, mut rx) = sink();
    {
        let mut inner = sink.inner.lock().unwrap();
        inner.faults = vec![
            fault("/containerApps/a", EventFaultAction::Drop),
            fault("/containerApps/b", EventFaultAction::Duplicate),
            fault("/containerApps/c", EventFaultAction::Poison),
            fault("/containerApps/d", EventFaultAction::Reorder),
            EventFault {
                delay_ms: Some(250),
                ..fault("/containerApps/f", EventFaultAction::Delay)
            },
        ];
    }
    let app = |n: &str| format!("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.App/containerApps/{n}");
    for n in ["a", "b", "c", "d", "e"] {
        sink.after_write("PATCH", &app(n), 200);
    }
    let subjects: Vec<String> = drain(&mut rx)
        .iter()
        .map(|e| {
            e["subject"]
                .as_str()
                .unwrap_or("(poison)")
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(subjects, ["b", "b", "(poison)", "c", "e", "d"]);
    sink.after_write("PATCH", &app("f"), 200);
    let delayed = rx.try_recv().unwrap();
    assert_eq!(delayed.delay, Duration::from_millis(250));
    let inner = sink.inner.lock().unwrap();
    assert!(inner.faults.iter().all(|f| f.fired == 1), "{:?}", inner.faults);
}
