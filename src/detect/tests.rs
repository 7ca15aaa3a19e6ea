use super::*;

#[test]
fn announced_drop_is_reported_once_and_recovers_on_reattach() {
    let mut d = Detector::new(2);
    let f = d.announced_drop(3, 100, 1_000).unwrap();
    assert!(matches!(
        f,
        Finding::TalkgroupDrop {
            console: 3,
            talkgroup: 100,
            detected_by: DetectedBy::Announced,
            at_us: 1_000,
            ..
        }
    ));
    assert!(d.announced_drop(3, 100, 1_500).is_none());
    assert!(d.is_dropped(3, 100));
    assert_eq!(d.dropped_at(3), vec![100]);
    let r = d.reattached(3, &[100, 101], 4_000);
    assert_eq!(r.len(), 1);
    assert!(matches!(
        r[0],
        Finding::Recovered {
            talkgroup: Some(100),
            after_us: 3_000,
            ..
        }
    ));
    assert!(!d.is_dropped(3, 100));
}

#[test]
fn audit_finds_missing_and_unexpected_talkgroups() {
    let mut d = Detector::new(2);
    let f = d.audit(1, &[10, 11, 12], &[10, 12, 99], 5);
    assert_eq!(f.len(), 2);
    assert!(matches!(
        f[0],
        Finding::TalkgroupDrop {
            talkgroup: 11,
            detected_by: DetectedBy::Audit,
            ..
        }
    ));
    assert!(matches!(
        f[1],
        Finding::TalkgroupUnexpected { talkgroup: 99, .. }
    ));
    // The same drop is not reported again by the next audit.
    let again = d.audit(1, &[10, 11, 12], &[10, 12], 10);
    assert!(again.is_empty());
}

#[test]
fn consecutive_misses_make_a_drop_and_a_delivery_breaks_the_run() {
    let mut d = Detector::new(2);
    assert_eq!(d.missed(1, 7, 10), None);
    d.delivered(1, 7, 15);
    assert_eq!(d.missed(1, 7, 20), None);
    let f = d.missed(1, 7, 30).unwrap();
    assert!(matches!(
        f,
        Finding::TalkgroupDrop {
            detected_by: DetectedBy::Delivery,
            at_us: 30,
            ..
        }
    ));
    // Misses on another console or talkgroup are counted apart.
    assert_eq!(d.missed(2, 7, 40), None);
    assert_eq!(d.missed(1, 8, 40), None);
    // Once a drop is open, more misses add nothing.
    assert_eq!(d.missed(1, 7, 50), None);
}

#[test]
fn zero_disables_drops_by_delivery() {
    let mut d = Detector::new(0);
    for t in 0..10 {
        assert_eq!(d.missed(1, 7, t), None);
    }
}

#[test]
fn disconnect_and_reconnect() {
    let mut d = Detector::new(2);
    d.missed(4, 7, 1);
    let f = d.disconnected(4, "stream_end", 100, None).unwrap();
    assert!(matches!(f, Finding::ConsoleDisconnect { console: 4, .. }));
    assert!(d.disconnected(4, "stream_end", 150, None).is_none());
    // The miss before the loss does not combine with one after it.
    assert_eq!(d.missed(4, 7, 200), None);
    let r = d.reconnected(4, 600).unwrap();
    assert!(matches!(
        r,
        Finding::Recovered {
            talkgroup: None,
            after_us: 500,
            ..
        }
    ));
    assert!(d.reconnected(4, 700).is_none());
}

#[test]
fn an_announcement_older_than_the_reattach_is_the_drop_already_found() {
    let mut d = Detector::new(2).with_stale_window(1_000_000);
    // The audit finds the drop before the stream's `talkgroup.dropped` is read.
    assert!(d.audit(1, &[7, 8], &[8], 100).len() == 1);
    assert_eq!(d.reattached(1, &[7, 8], 200).len(), 1);
    // The old announcement, read after the re-attach but before its `talkgroup.attached`.
    assert_eq!(d.announced_drop(1, 7, 300), None);
    assert_eq!(d.announced_drop(1, 7, 400), None);
    // Once the stream shows the re-attach, an announcement is a new drop.
    d.attached_seen(1, 7);
    assert!(matches!(
        d.announced_drop(1, 7, 500),
        Some(Finding::TalkgroupDrop {
            detected_by: DetectedBy::Announced,
            ..
        })
    ));
}

#[test]
fn without_an_attached_event_the_stale_window_ends() {
    let mut d = Detector::new(2).with_stale_window(1_000);
    d.missed(1, 7, 10);
    assert!(d.missed(1, 7, 20).is_some());
    d.reattached(1, &[7], 100);
    assert_eq!(d.announced_drop(1, 7, 1_100), None);
    assert!(d.announced_drop(1, 7, 1_101).is_some());
    // Another talkgroup or console is never affected.
    d.reattached(1, &[7], 2_000);
    assert!(d.announced_drop(1, 8, 2_001).is_some());
    assert!(d.announced_drop(2, 7, 2_001).is_some());
}

#[test]
fn a_lost_stream_forgets_the_order_of_the_old_one() {
    let mut d = Detector::new(2).with_stale_window(1_000_000);
    d.announced_drop(1, 7, 10);
    d.reattached(1, &[7], 20);
    d.disconnected(1, "stream_end", 30, None);
    d.reconnected(1, 40);
    assert!(d.announced_drop(1, 7, 50).is_some());
}

fn last_ok(f: &Finding) -> u64 {
    match f {
        Finding::TalkgroupDrop { last_ok_us, .. }
        | Finding::ConsoleDisconnect { last_ok_us, .. } => *last_ok_us,
        other => panic!("not a drop or disconnect: {other:?}"),
    }
}

#[test]
fn an_outage_starts_at_the_last_evidence_that_it_worked() {
    let mut d = Detector::new(2);
    // Ready at 1 s; events on talkgroup 7 until 3.9 s; an audit lists it at 6 s (a blackhole
    // keeps it listed): missed deliveries find the drop at 9.3 s.
    d.ready(1, &[7, 8], 1_000_000);
    d.delivered(1, 7, 3_900_000);
    d.delivered(1, 8, 8_000_000);
    assert_eq!(d.audit(1, &[7, 8], &[7, 8], 6_000_000), []);
    assert_eq!(d.missed(1, 7, 8_300_000), None);
    let f = d.missed(1, 7, 9_300_000).expect("a drop");
    assert_eq!(
        last_ok(&f),
        3_900_000,
        "only a delivery shows a blackholed talkgroup works"
    );
    // Found by an audit, the last audit that listed it is evidence too.
    d.ready(2, &[7], 1_000_000);
    d.delivered(2, 7, 2_000_000);
    assert_eq!(d.audit(2, &[7], &[7], 4_000_000), []);
    let f = d.audit(2, &[7], &[], 6_000_000);
    assert_eq!(last_ok(&f[0]), 4_000_000);
    // With no event at all, its attach is the evidence.
    d.ready(3, &[9], 2_500_000);
    let f = d.announced_drop(3, 9, 5_000_000).expect("a drop");
    assert_eq!(last_ok(&f), 2_500_000);
    // A lost stream: the bytes that last came on it, when they are the latest evidence.
    let f = d
        .disconnected(1, "heartbeat_timeout", 12_000_000, Some(9_000_000))
        .expect("lost");
    assert_eq!(last_ok(&f), 9_000_000);
    // Back at 13 s (ready again), lost at 14 s before any byte: the outage starts at 13 s.
    d.reconnected(1, 13_000_000);
    d.ready(1, &[7, 8], 13_000_000);
    let f = d
        .disconnected(1, "stream_end", 14_000_000, None)
        .expect("lost");
    assert_eq!(last_ok(&f), 13_000_000);
}
