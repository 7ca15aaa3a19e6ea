//! The `ref` format: how a request names itself so that the events it causes can be matched
//! back to it (`status` and `call.started` / `emergency.alert` carry the request's `ref`).

/// The `ref` of the action with sequence number `seq`.
pub fn reference(seq: u64) -> String {
    format!("r{seq}")
}

/// The action sequence number in a `ref`, if it is one of rcload's.
pub fn parse_reference(r: &str) -> Option<u64> {
    r.strip_prefix('r')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip() {
        assert_eq!(reference(42), "r42");
        assert_eq!(parse_reference(&reference(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_reference("x42"), None);
        assert_eq!(parse_reference("r"), None);
    }
}
