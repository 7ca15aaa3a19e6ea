//! A common start for the shards of one test (`--start-at`, `--start-in`): every shard's t=0
//! is the same instant of the real-time clock. A shard whose set-up overran it starts as soon
//! as it can, and says how late: the merge names it when that exceeds the skew allowed.

use crate::report::runinfo::StartRecord;
use std::time::{Duration, Instant, SystemTime};

/// Where this process's clock source is named (Linux).
const CLOCKSOURCE: &str = "/sys/devices/system/clocksource/clocksource0/current_clocksource";

/// t=0 for a start asked at `requested`, now being `now` (monotonic and real-time, read
/// together): the instant itself when it is at least `lead` away (set-up must fit before
/// it), else `lead` from now (a late start). Pure.
pub fn plan(
    requested: SystemTime,
    now: (Instant, SystemTime),
    lead: Duration,
) -> (Instant, SystemTime) {
    let (now_i, now_s) = now;
    match requested.duration_since(now_s) {
        Ok(ahead) if ahead >= lead => (now_i + ahead, requested),
        _ => (now_i + lead, now_s + lead),
    }
}

/// The clock the start was read from.
pub fn clock_source() -> String {
    match std::fs::read_to_string(CLOCKSOURCE) {
        Ok(s) if !s.trim().is_empty() => format!("realtime (clocksource {})", s.trim()),
        _ => "realtime".to_string(),
    }
}

/// What run.json records: the instant asked for, how late this process's t=0 (`t0`, on the
/// real-time clock) was after it, and how late after `t0` it woke (`woke`).
pub fn record(requested: SystemTime, t0: SystemTime, woke: SystemTime) -> StartRecord {
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    StartRecord {
        requested: crate::report::wall::rfc3339_millis(requested),
        requested_unix_s: requested
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        late_ms: ms(t0.duration_since(requested).unwrap_or_default()),
        woke_ms: ms(woke.duration_since(t0).unwrap_or_default()),
        clock: clock_source(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_ahead_is_kept_and_a_passed_one_is_late() {
        let now = (
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000),
        );
        let lead = Duration::from_millis(500);
        let ahead = now.1 + Duration::from_secs(30);
        let (t0, wall) = plan(ahead, now, lead);
        assert_eq!(wall, ahead);
        assert_eq!(t0 - now.0, Duration::from_secs(30));
        let passed = now.1 - Duration::from_secs(2);
        let (t0, wall) = plan(passed, now, lead);
        assert_eq!((t0 - now.0, wall), (lead, now.1 + lead));
        let r = record(passed, wall, wall + Duration::from_micros(1_300));
        assert_eq!((r.late_ms, r.woke_ms), (2_500.0, 1.3));
        assert!(r.clock.starts_with("realtime"), "{}", r.clock);
    }
}
