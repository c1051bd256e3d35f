//! The scheduler's rules on hand-built instants: no runtime, no clock.

use super::*;

const S: Duration = Duration::from_secs(1);

fn sched(resync: Option<Duration>, total: usize, per_group: usize) -> Scheduler<&'static str> {
    Scheduler::new(
        Timing {
            resync,
            jitter: 0.0,
            rng: fastrand::Rng::with_seed(7),
        },
        Caps { total, per_group },
    )
}

fn group(name: &str) -> Arc<str> {
    Arc::from(name)
}

fn started(s: &mut Scheduler<&'static str>, now: Instant) -> Vec<&'static str> {
    s.start_due(now).into_iter().map(|(k, _, _)| k).collect()
}

#[test]
fn a_key_is_held_once_and_the_earliest_time_wins() {
    let t0 = Instant::now();
    let mut s = sched(None, 10, 10);
    s.insert("a", group("g"), t0 + 30 * S, Cause::Start);
    s.schedule(&"a", t0 + 50 * S, Cause::Requeue); // later: ignored
    s.schedule(&"a", t0 + 10 * S, Cause::Requeue); // earlier: wins
    assert_eq!(s.next_wake(), Some(t0 + 10 * S));
    assert!(started(&mut s, t0 + 9 * S).is_empty());
    let run = s.start_due(t0 + 10 * S);
    assert_eq!(run.len(), 1, "one entry per key, however often it was scheduled");
    assert_eq!(run[0].1.to_string(), "start+requeue");
    s.finish(&"a", Finished::Succeeded(Action::AwaitChange), t0 + 11 * S);
    assert!(
        started(&mut s, t0 + 60 * S).is_empty(),
        "the stale 30 s and 50 s items are gone"
    );
    assert_eq!(s.next_wake(), None);
}

#[test]
fn due_keys_start_in_due_order() {
    let t0 = Instant::now();
    let mut s = sched(None, 10, 10);
    s.insert("late", group("g"), t0 + 3 * S, Cause::Start);
    s.insert("early", group("g"), t0 + S, Cause::Start);
    s.insert("middle", group("g"), t0 + 2 * S, Cause::Start);
    assert_eq!(started(&mut s, t0 + 5 * S), ["early", "middle", "late"]);
}

#[test]
fn a_running_key_is_not_started_again_and_a_trigger_during_it_runs_it_once_after() {
    let t0 = Instant::now();
    let mut s = sched(None, 10, 10);
    s.insert("a", group("g"), t0, Cause::Start);
    assert_eq!(started(&mut s, t0), ["a"]);
    assert_eq!(s.trigger(&"a", Cause::Watch), Triggered::Scheduled);
    assert_eq!(s.trigger(&"a", Cause::Watch), Triggered::Coalesced);
    assert!(started(&mut s, t0 + S).is_empty(), "never twice at once");
    assert_eq!(s.state(&"a"), Some(KeyState::Running));
    s.finish(&"a", Finished::Succeeded(Action::Requeue(60 * S)), t0 + 2 * S);
    let again = s.start_due(t0 + 2 * S);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1.to_string(), "watch");
    s.finish(&"a", Finished::Succeeded(Action::AwaitChange), t0 + 3 * S);
    assert!(started(&mut s, t0 + 100 * S).is_empty(), "once, not once per trigger");
}

#[test]
fn backing_off_is_a_floor_that_triggers_do_not_shorten() {
    let t0 = Instant::now();
    let mut s = sched(None, 10, 10);
    s.insert("a", group("g"), t0, Cause::Start);
    started(&mut s, t0);
    s.finish(&"a", Finished::Failed(Action::Requeue(8 * S)), t0);
    assert_eq!(s.state(&"a"), Some(KeyState::BackingOff));
    assert_eq!(s.failures(&"a"), 1);
    assert_eq!(s.trigger(&"a", Cause::Watch), Triggered::Coalesced);
    assert!(started(&mut s, t0 + 7 * S).is_empty());
    let run = s.start_due(t0 + 8 * S);
    assert_eq!(run, [("a", run[0].1, 1)]);
    assert_eq!(run[0].1.to_string(), "retry+watch");
    s.finish(&"a", Finished::Succeeded(Action::AwaitChange), t0 + 9 * S);
    assert_eq!(s.failures(&"a"), 0, "reset on success");
}

#[test]
fn a_held_key_ignores_resync_and_runs_on_a_trigger() {
    let t0 = Instant::now();
    let mut s = sched(Some(60 * S), 10, 10);
    s.insert("a", group("g"), t0, Cause::Start);
    started(&mut s, t0);
    s.finish(&"a", Finished::Failed(Action::AwaitChange), t0);
    assert_eq!(s.state(&"a"), Some(KeyState::AwaitingChange));
    assert_eq!(s.next_wake(), None);
    assert!(started(&mut s, t0 + 3600 * S).is_empty());
    assert_eq!(s.trigger(&"a", Cause::Watch), Triggered::Scheduled);
    assert_eq!(started(&mut s, t0 + 3600 * S), ["a"]);
}

#[test]
fn resync_bounds_every_successful_key() {
    let t0 = Instant::now();
    let mut s = sched(Some(60 * S), 10, 10);
    s.insert("await", group("g"), t0, Cause::Start);
    s.insert("slow", group("g"), t0, Cause::Start);
    s.insert("fast", group("g"), t0, Cause::Start);
    started(&mut s, t0);
    s.finish(&"await", Finished::Succeeded(Action::AwaitChange), t0);
    s.finish(&"slow", Finished::Succeeded(Action::Requeue(600 * S)), t0);
    s.finish(&"fast", Finished::Succeeded(Action::Requeue(10 * S)), t0);
    assert_eq!(started(&mut s, t0 + 10 * S), ["fast"]);
    let at_resync = s.start_due(t0 + 60 * S);
    assert_eq!(at_resync.len(), 2);
    assert!(at_resync.iter().all(|(_, c, _)| c.to_string() == "resync"));
}

#[test]
fn caps_hold_keys_until_a_slot_frees_without_blocking_other_groups() {
    let t0 = Instant::now();
    let mut s = sched(None, 3, 2);
    for (k, g) in [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("b2", "B")] {
        s.insert(k, group(g), t0, Cause::Start);
    }
    // Insertion order at equal times: a1, a2 start; a3 waits for group A; b1 takes the last slot.
    assert_eq!(started(&mut s, t0), ["a1", "a2", "b1"]);
    assert_eq!(s.counts(), [0, 2, 3, 0, 0]);
    s.finish(&"a1", Finished::Succeeded(Action::AwaitChange), t0 + S);
    assert_eq!(
        started(&mut s, t0 + S),
        ["a3"],
        "the earliest waiting key takes the slot"
    );
    s.finish(&"b1", Finished::Succeeded(Action::AwaitChange), t0 + 2 * S);
    assert_eq!(started(&mut s, t0 + 2 * S), ["b2"]);
}

#[test]
fn a_reload_queues_new_keys_reruns_kept_ones_and_forgets_removed_ones() {
    let t0 = Instant::now();
    let mut s = sched(None, 10, 10);
    s.insert("kept", group("g"), t0 + 100 * S, Cause::Start);
    s.insert("gone", group("g"), t0 + 100 * S, Cause::Start);
    s.insert("busy", group("g"), t0, Cause::Start);
    assert_eq!(started(&mut s, t0), ["busy"]);
    s.set_keys(vec![("kept", group("g")), ("new", group("g"))], Cause::Reload, t0 + S);
    let mut now: Vec<_> = started(&mut s, t0 + S);
    now.sort();
    assert_eq!(now, ["kept", "new"]);
    assert_eq!(s.state(&"gone"), None);
    assert_eq!(
        s.trigger(&"busy", Cause::Watch),
        Triggered::Unknown,
        "removed while running"
    );
    s.finish(&"busy", Finished::Succeeded(Action::Requeue(S)), t0 + 2 * S);
    assert_eq!(s.state(&"busy"), None, "forgotten once its run ended");
    assert!(started(&mut s, t0 + 10 * S).is_empty());
}

#[test]
fn jitter_stays_within_its_bounds() {
    let mut t = Timing {
        resync: None,
        jitter: 0.1,
        rng: fastrand::Rng::with_seed(1),
    };
    let samples: Vec<Duration> = (0..1000).map(|_| t.jittered(100 * S)).collect();
    assert!(samples.iter().all(|d| *d >= 90 * S && *d <= 110 * S));
    let spread = samples.iter().max().unwrap().as_secs_f64() - samples.iter().min().unwrap().as_secs_f64();
    assert!(spread > 15.0, "the jitter actually spreads: {spread}");
}

#[test]
fn a_reload_that_moves_a_running_key_to_another_group_takes_effect_after_its_run() {
    let t0 = Instant::now();
    let mut s = sched(None, 10, 1);
    s.insert("a", group("A"), t0, Cause::Start);
    s.insert("b", group("B"), t0 + 5 * S, Cause::Start);
    assert_eq!(started(&mut s, t0), ["a"]);
    s.set_keys(vec![("a", group("B")), ("b", group("B"))], Cause::Reload, t0 + S);
    // "a" still counts in A while it runs, so B has room for "b".
    assert_eq!(started(&mut s, t0 + S), ["b"]);
    s.finish(&"a", Finished::Succeeded(Action::AwaitChange), t0 + 2 * S);
    assert!(started(&mut s, t0 + 2 * S).is_empty(), "now in B, behind the running b");
    s.finish(&"b", Finished::Succeeded(Action::AwaitChange), t0 + 3 * S);
    assert_eq!(started(&mut s, t0 + 3 * S), ["a"]);
}
