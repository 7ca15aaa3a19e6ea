//! Wording shared by every message and report, at the lowest level so that the engine's
//! messages and the reports use the same: `1 control room`, `2 control rooms`.

/// `n thing` / `n things`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(
            super::plural(1, "control room", "control rooms"),
            "1 control room"
        );
        assert_eq!(super::plural(0, "console", "consoles"), "0 consoles");
        assert_eq!(
            super::plural(13, "control room", "control rooms"),
            "13 control rooms"
        );
    }
}
