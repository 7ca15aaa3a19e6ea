//! Tests of `totals.json`: round trips, split-equals-whole merges, and read errors.
use super::*;
use crate::detect::Finding;
use crate::engine::Outcome;
use crate::metrics::MergeHistError;
use crate::schedule::Population;
use std::collections::BTreeSet;

/// A deterministic spread of bits for unit `i` (splitmix64).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Three rooms of four consoles.
fn population() -> Population {
    Population::new(
        &crate::profile::Population {
            fleet: None,
            like: None,
            control_rooms: 3,
            consoles_per_room: 4,
            terminals: 10,
            talkgroups_per_room: 2,
            monitored_per_console: 1,
        },
        1,
    )
}

/// A recorder as a run makes one: three phases, the last kept apart, groups kept.
fn recorder(pop: &Population) -> Recorder {
    Recorder::new(3)
        .with_groups(Groups::new(pop))
        .with_phase_apart(Some(2))
}

/// The outcomes of unit `i`: one, or a finding and its recovery (which a shard sees
/// together). Latencies span 200 µs to 30 s, so histograms grow.
fn unit(i: u64) -> Vec<Outcome> {
    let h = mix(i);
    let phase = (h % 3) as usize;
    let console = ((h >> 8) % 12) as u32;
    let latency_us = 200 + (h >> 16) % 30_000_000;
    let probe = (h >> 50).is_multiple_of(7);
    let event = Delivery::ALL[((h >> 32) % 6) as usize];
    match i % 10 {
        0..=3 => vec![Outcome::Op {
            op: Op::ALL[((h >> 40) % 12) as usize],
            phase,
            intended_us: i * 1_000,
            lateness_us: (!i.is_multiple_of(7)).then_some((h >> 24) % 5_000),
            latency_us,
            service_us: latency_us / 2 + 1,
            error: ErrorClass::ALL.get(((h >> 44) % 16) as usize).copied(),
            probe,
        }],
        4 => vec![Outcome::Skipped {
            op: Op::TerminalStatus,
            reason: SkipReason::ALL[((h >> 32) % 8) as usize],
        }],
        5 => vec![Outcome::Throttled],
        6 | 7 => vec![Outcome::Delivered {
            event,
            phase,
            console,
            latency_us,
            probe,
        }],
        8 => vec![Outcome::Missed {
            event,
            phase,
            console,
            talkgroup: 100_000 + (h % 5) as u32,
            at_us: i * 1_000,
            probe,
        }],
        _ => finding(i, h, console),
    }
}

/// A drop or disconnect (recovered or not), or an unexpected talkgroup, at `i` ms.
fn finding(i: u64, h: u64, console: u32) -> Vec<Outcome> {
    let at_us = i * 1_000;
    let talkgroup = 100_000 + (h % 5) as u32;
    let recovered = Outcome::Finding(Finding::Recovered {
        id: i,
        console,
        talkgroup: Some(talkgroup),
        at_us: at_us + 700,
        after_us: 700 + (h >> 20) % 1_000,
    });
    let detected_by = [
        DetectedBy::Announced,
        DetectedBy::Audit,
        DetectedBy::Delivery,
    ][((h >> 28) % 3) as usize];
    let dropped = Outcome::Finding(Finding::TalkgroupDrop {
        id: i,
        console,
        talkgroup,
        detected_by,
        at_us,
        last_ok_us: at_us.saturating_sub(300),
    });
    let disconnect = Outcome::Finding(Finding::ConsoleDisconnect {
        id: i,
        console,
        reason: ["stream_end", "kicked: fault"][((h >> 30) % 2) as usize].into(),
        at_us,
        last_ok_us: at_us.saturating_sub(200),
    });
    match (h >> 36) % 5 {
        0 => vec![dropped, recovered],
        1 => vec![dropped],
        2 => vec![disconnect, recovered],
        3 => vec![disconnect],
        _ => vec![Outcome::Finding(Finding::TalkgroupUnexpected {
            console,
            talkgroup,
            at_us,
        })],
    }
}

fn fed(mut rec: Recorder, units: &[Vec<Outcome>]) -> Recorder {
    for o in units.iter().flatten() {
        rec.record(o);
    }
    rec
}

fn round_trip(rec: &Recorder) -> Recorder {
    let json = to_json(rec).unwrap();
    from_json(&json, Path::new("totals.json")).unwrap()
}

/// The same counts, bit for bit: length, extremes, percentiles, mean and every bucket.
fn same_hist(a: &Histogram<u64>, b: &Histogram<u64>, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: count");
    assert_eq!((a.min(), a.max()), (b.min(), b.max()), "{what}: min, max");
    for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
        let (x, y) = (a.value_at_quantile(q), b.value_at_quantile(q));
        assert_eq!(x, y, "{what}: quantile {q}");
    }
    assert_eq!(a.mean().to_bits(), b.mean().to_bits(), "{what}: mean");
    let buckets = |h: &Histogram<u64>| {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect::<Vec<_>>()
    };
    assert_eq!(buckets(a), buckets(b), "{what}: recorded values");
}

fn same_op(a: &OpStats, b: &OpStats, what: &str) {
    assert_eq!((a.count, a.ok), (b.count, b.ok), "{what}: count, ok");
    assert_eq!(a.errors, b.errors, "{what}: errors");
    same_hist(&a.latency, &b.latency, &format!("{what} latency"));
    same_hist(&a.service, &b.service, &format!("{what} service"));
}

fn same_ops(a: &BTreeMap<Op, OpStats>, b: &BTreeMap<Op, OpStats>, what: &str) {
    let keys = |m: &BTreeMap<Op, OpStats>| m.keys().copied().collect::<Vec<_>>();
    assert_eq!(keys(a), keys(b), "{what}: operations");
    for (op, s) in a {
        same_op(s, &b[op], &format!("{what}.{}", op.name()));
    }
}

fn same_delivery(a: &DeliveryStats, b: &DeliveryStats, what: &str) {
    let counts = |d: &DeliveryStats| (d.delivered, d.missed);
    assert_eq!(counts(a), counts(b), "{what}: delivered, missed");
    same_hist(&a.latency, &b.latency, what);
}

fn same_deliveries(
    a: &BTreeMap<Delivery, DeliveryStats>,
    b: &BTreeMap<Delivery, DeliveryStats>,
    what: &str,
) {
    let keys = |m: &BTreeMap<Delivery, DeliveryStats>| m.keys().copied().collect::<Vec<_>>();
    assert_eq!(keys(a), keys(b), "{what}: event types");
    for (event, d) in a {
        same_delivery(d, &b[event], &format!("{what}.{}", event.name()));
    }
}

fn same_group(a: &GroupStats, b: &GroupStats, what: &str) {
    same_delivery(&a.all, &b.all, &format!("{what}.all"));
    same_deliveries(&a.by_type, &b.by_type, &format!("{what}.by_type"));
}

fn same_groups(a: Option<&Groups>, b: Option<&Groups>) {
    let (Some(a), Some(b)) = (a, b) else {
        assert!(a.is_none() && b.is_none(), "groups kept by one only");
        return;
    };
    assert_eq!(a.rooms_of_consoles(), b.rooms_of_consoles());
    assert_eq!(a.disciplines_of_consoles(), b.disciplines_of_consoles());
    assert_eq!(a.rooms.len(), b.rooms.len());
    assert_eq!(a.disciplines.len(), b.disciplines.len());
    for (r, (x, y)) in a.rooms.iter().zip(&b.rooms).enumerate() {
        same_group(x, y, &format!("room {r}"));
    }
    for (d, (x, y)) in a.disciplines.iter().zip(&b.disciplines).enumerate() {
        same_group(x, y, &format!("discipline {d}"));
    }
}

/// Everything the summary is built from is the same in `a` and `b`.
fn same(a: &Recorder, b: &Recorder) {
    assert_eq!(a.apart(), b.apart());
    same_ops(&a.ops, &b.ops, "ops");
    assert_eq!(a.phase_ops.len(), b.phase_ops.len());
    for (p, (x, y)) in a.phase_ops.iter().zip(&b.phase_ops).enumerate() {
        same_ops(x, y, &format!("phase {p}"));
    }
    same_deliveries(&a.deliveries, &b.deliveries, "deliveries");
    assert_eq!(a.phase_deliveries.len(), b.phase_deliveries.len());
    for (p, (x, y)) in a
        .phase_deliveries
        .iter()
        .zip(&b.phase_deliveries)
        .enumerate()
    {
        same_deliveries(x, y, &format!("phase {p} deliveries"));
    }
    same_hist(&a.lateness, &b.lateness, "lateness");
    assert_eq!(a.skipped, b.skipped);
    assert_eq!(a.throttled, b.throttled);
    same_op(&a.probes.calls, &b.probes.calls, "probe calls");
    same_delivery(
        &a.probes.deliveries,
        &b.probes.deliveries,
        "probe deliveries",
    );
    assert_eq!(a.drops, b.drops);
    assert_eq!(a.disconnects, b.disconnects);
    assert_eq!(a.unexpected, b.unexpected);
    assert_eq!(a.missed, b.missed);
    same_groups(a.groups.as_ref(), b.groups.as_ref());
}

#[test]
fn a_recorder_reads_back_as_it_was_written() {
    let pop = population();
    let units: Vec<Vec<Outcome>> = (0..600).map(unit).collect();
    let rec = fed(recorder(&pop), &units);
    // The mix has what the format must carry.
    let classes: BTreeSet<&str> = rec
        .ops
        .values()
        .flat_map(|s| s.errors.keys().copied())
        .collect();
    assert!(classes.len() >= 3, "{classes:?}");
    assert!(rec.skipped.len() >= 3 && rec.throttled > 0);
    assert!(rec.probes.calls.count > 0 && rec.probes.deliveries.missed > 0);
    assert!(
        rec.phase_ops[2].values().any(|s| s.count > 0),
        "the teardown's"
    );
    assert!(rec.drops.iter().any(|d| d.recovered_after_us.is_some()));
    assert!(rec.drops.iter().any(|d| d.recovered_after_us.is_none()));
    assert!(!rec.disconnects.is_empty() && !rec.unexpected.is_empty());
    let groups = rec.groups.as_ref().unwrap();
    assert!(
        groups
            .rooms
            .iter()
            .all(|g| g.all.delivered > 0 && g.all.missed > 0)
    );

    let back = round_trip(&rec);
    same(&rec, &back);
    // Read back, it still records as the original does.
    let (mut a, mut b) = (rec.clone(), back);
    for o in (600..700).flat_map(unit) {
        a.record(&o);
        b.record(&o);
    }
    same_ops(&a.ops, &b.ops, "ops after more");
    assert_eq!(a.phase_ops[2].len(), b.phase_ops[2].len(), "still apart");

    // Through a file too.
    let dir = std::env::temp_dir().join(format!("rcload-totals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(FILE_NAME);
    write(&rec, &path).unwrap();
    same(&rec, &read(&path).unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn four_shards_merged_equal_the_whole_run() {
    let pop = population();
    let units: Vec<Vec<Outcome>> = (0..5_000).map(unit).collect();
    let whole = fed(recorder(&pop), &units);
    let mut parts: Vec<Recorder> = (0..4).map(|_| recorder(&pop)).collect();
    for (i, u) in units.iter().enumerate() {
        for o in u {
            parts[i % 4].record(o);
        }
    }
    let parts: Vec<Recorder> = parts.iter().map(round_trip).collect();
    // From an empty recorder, which takes the parts' teardown phase and groups.
    let mut merged = Recorder::new(0);
    for p in &parts {
        merged.merge(p).unwrap();
    }
    // Findings come in time order in the whole run: merged, they are sorted so.
    same(&whole, &merged);
    assert_eq!(merged.total_ops(), whole.total_ops());
    assert_eq!(merged.total_errors(), whole.total_errors());

    // The order of merging does not matter.
    let mut reversed = Recorder::new(0);
    for p in parts.iter().rev() {
        reversed.merge(p).unwrap();
    }
    same(&merged, &reversed);
}

#[test]
fn groups_of_other_populations_do_not_merge() {
    let pop = population();
    let other = Population::new(
        &crate::profile::Population {
            fleet: None,
            like: None,
            control_rooms: 2,
            consoles_per_room: 6,
            terminals: 10,
            talkgroups_per_room: 2,
            monitored_per_console: 1,
        },
        1,
    );
    let units: Vec<Vec<Outcome>> = (0..50).map(unit).collect();
    let mut a = fed(recorder(&pop), &units);
    let b = fed(Recorder::new(3).with_groups(Groups::new(&other)), &units);
    let before = a.total_ops();
    assert!(matches!(a.merge(&b), Err(MergeHistError::Groups(_))));
    assert_eq!(a.total_ops(), before, "nothing added");
    let c = fed(Recorder::new(3).with_phase_apart(Some(1)), &units);
    assert!(matches!(
        a.merge(&c),
        Err(MergeHistError::Apart { ours: 2, theirs: 1 })
    ));
}

/// The message of reading `json` as `shard-2/totals.json`.
fn error_of(json: &serde_json::Value) -> String {
    let bytes = serde_json::to_vec(json).unwrap();
    match from_json(&bytes, Path::new("shard-2/totals.json")) {
        Ok(_) => panic!("read: {json}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_wrong_schema_or_an_unknown_name_is_an_error_naming_the_file_and_field() {
    let pop = population();
    let units: Vec<Vec<Outcome>> = (0..200).map(unit).collect();
    let rec = fed(recorder(&pop), &units);
    let good: serde_json::Value = serde_json::from_slice(&to_json(&rec).unwrap()).unwrap();
    let some_op = rec.ops.keys().next().unwrap().name();
    let some_event = rec.deliveries.keys().next().unwrap().name();

    let mut v = good.clone();
    v["schema"] = "rcload.totals/99".into();
    let e = error_of(&v);
    assert!(e.starts_with("shard-2/totals.json: "), "{e}");
    assert!(e.contains("`rcload.totals/99`"), "{e}");

    let mut v = good.clone();
    v["ops"]["console.teleport"] = good["ops"][some_op].clone();
    let e = error_of(&v);
    assert!(e.starts_with("shard-2/totals.json: "), "{e}");
    assert!(
        e.contains("`ops`") && e.contains("`console.teleport`"),
        "{e}"
    );

    let mut v = good.clone();
    v["phase_deliveries"][1]["pigeon"] = good["deliveries"][some_event].clone();
    let e = error_of(&v);
    assert!(
        e.contains("`phase_deliveries[1]`") && e.contains("`pigeon`"),
        "{e}"
    );

    let mut v = good.clone();
    v["skipped"]["bored"] = 1.into();
    assert!(error_of(&v).contains("`skipped`: unknown name `bored`"));

    let mut v = good.clone();
    v["ops"][some_op]["errors"]["gremlins"] = 1.into();
    let e = error_of(&v);
    assert!(e.contains(&format!("`ops.{some_op}.errors`")) && e.contains("`gremlins`"));

    let mut v = good.clone();
    v["lateness"] = "AAAA".into();
    assert!(error_of(&v).contains("`lateness`: bad histogram"));

    let mut v = good.clone();
    v["throttled"] = "many".into();
    assert!(error_of(&v).starts_with("shard-2/totals.json: not a totals file"));

    assert!(error_of(&serde_json::json!({"n": 1})).contains("no `schema` field"));
}
