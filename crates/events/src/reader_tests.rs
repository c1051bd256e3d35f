use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;

const APP: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.App/containerApps/a";

/// A queue answering each receive from a script (then empty), recording deletes and receive times.
#[derive(Default)]
struct Fake {
    script: Mutex<VecDeque<Result<Vec<Message>, QueueError>>>,
    deleted: Mutex<Vec<String>>,
    receives: Mutex<Vec<tokio::time::Instant>>,
}

#[async_trait::async_trait]
impl MessageQueue for Arc<Fake> {
    async fn receive(&self, _max: u8) -> Result<Vec<Message>, QueueError> {
        self.receives.lock().unwrap().push(tokio::time::Instant::now());
        self.script.lock().unwrap().pop_front().unwrap_or(Ok(Vec::new()))
    }
    async fn delete(&self, m: &Message) -> Result<(), QueueError> {
        self.deleted.lock().unwrap().push(m.id.clone());
        Ok(())
    }
}

fn message(id: &str, text: &str) -> Message {
    Message {
        id: id.into(),
        pop_receipt: format!("pop-{id}"),
        dequeue_count: 1,
        text: text.into(),
    }
}

fn write_event() -> String {
    serde_json::json!({"eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": APP,
        "eventTime": "2026-11-25T10:00:00Z", "data": {"operationName": "Microsoft.App/containerApps/write"}})
    .to_string()
}

fn down() -> Result<Vec<Message>, QueueError> {
    Err(QueueError::Unreachable("connection refused".into()))
}

#[tokio::test(start_paused = true)]
async fn events_are_handed_on_and_every_message_poison_or_not_is_deleted() {
    let fake = Arc::new(Fake::default());
    fake.script.lock().unwrap().push_back(Ok(vec![
        message("m1", &write_event()),
        message("m2", "not an event at all"),
        message("m3", &write_event()),
    ]));
    let mut watch = spawn(fake.clone(), Settings::default(), CancellationToken::new());
    for _ in 0..2 {
        let e = watch.events.recv().await.unwrap();
        assert_eq!(e.subject.text(), APP);
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(*fake.deleted.lock().unwrap(), ["m1", "m2", "m3"]);
    let s = watch.stats.snapshot();
    assert_eq!((s.received, s.decoded, s.poison, s.degraded), (3, 2, 1, false));
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_queue_degrades_backs_off_doubling_and_recovers() {
    let fake = Arc::new(Fake::default());
    {
        let mut script = fake.script.lock().unwrap();
        for _ in 0..4 {
            script.push_back(down());
        }
        script.push_back(Ok(vec![message("m1", &write_event())]));
    }
    let cancel = CancellationToken::new();
    let mut watch = spawn(fake.clone(), Settings::default(), cancel.clone());
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(watch.stats.snapshot().degraded, "the first failure degrades the watch");
    // The event behind the outage still arrives.
    assert!(watch.events.recv().await.is_some());
    assert!(!watch.stats.snapshot().degraded, "a working receive recovers it");
    let times = fake.receives.lock().unwrap().clone();
    let gaps: Vec<u64> = times.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert_eq!(gaps[..4], [1, 2, 4, 8], "backoff after each failure");
    cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn an_empty_queue_is_polled_at_the_idle_pace_and_a_busy_one_at_once() {
    let fake = Arc::new(Fake::default());
    fake.script
        .lock()
        .unwrap()
        .push_back(Ok(vec![message("m1", &write_event())]));
    let settings = Settings {
        idle_poll: Duration::from_secs(2),
        ..Settings::default()
    };
    let cancel = CancellationToken::new();
    let _watch = spawn(fake.clone(), settings, cancel.clone());
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let times = fake.receives.lock().unwrap().clone();
    let gaps: Vec<u128> = times.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    assert_eq!(gaps, [0, 2000, 2000]);
    cancel.cancel();
}

#[test]
fn backoff_doubles_from_one_second_up_to_the_cap() {
    let max = Duration::from_secs(30);
    let secs: Vec<u64> = (1..=7).map(|n| backoff(n, max).as_secs()).collect();
    assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
}
