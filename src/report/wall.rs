//! Wall-clock times in outputs, made total: a time before 1970 or after the year 9999 (from a
//! damaged file, or an offset that was never meant as a time) is clamped, never a panic
//! (`humantime` panics on the one and fails to format the other).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last instant `humantime` formats: 9999-12-31T23:59:59.999Z.
const LAST: Duration = Duration::from_millis(253_402_300_799_999);

/// `t` within what can be formatted.
pub fn clamp(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) if d <= LAST => t,
        Ok(_) => UNIX_EPOCH + LAST,
        Err(_) => UNIX_EPOCH,
    }
}

/// `start` plus `offset_us`, saturating at the last formattable instant.
pub fn offset(start: SystemTime, offset_us: u64) -> SystemTime {
    start
        .checked_add(Duration::from_micros(offset_us))
        .map(clamp)
        .unwrap_or(UNIX_EPOCH + LAST)
}

/// RFC 3339 with milliseconds, UTC, for any `t`.
pub fn rfc3339_millis(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(clamp(t)).to_string()
}

/// RFC 3339 with whole seconds, UTC, for any `t`.
pub fn rfc3339_seconds(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(clamp(t)).to_string()
}

/// A unix time in seconds from a file, as a time: `None` when it is not a number of seconds
/// between 1970 and the year 9999.
pub fn from_unix_s(s: f64) -> Option<SystemTime> {
    if !(s.is_finite() && s >= 0.0) {
        return None;
    }
    let d = Duration::try_from_secs_f64(s).ok()?;
    (d <= LAST).then(|| UNIX_EPOCH + d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_time_formats() {
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let far = offset(UNIX_EPOCH, u64::MAX);
        assert_eq!(rfc3339_millis(far), "9999-12-31T23:59:59.999Z");
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339_seconds(before), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_millis(offset(UNIX_EPOCH, 1_500_000)),
            "1970-01-01T00:00:01.500Z"
        );
    }

    #[test]
    fn unix_seconds_from_a_file_are_checked() {
        assert_eq!(from_unix_s(1e300), None);
        assert_eq!(from_unix_s(f64::NAN), None);
        assert_eq!(from_unix_s(-1.0), None);
        assert_eq!(
            from_unix_s(2.5),
            Some(UNIX_EPOCH + Duration::from_millis(2500))
        );
    }
}
