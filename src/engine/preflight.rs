//! Before the load: what the target already holds of the run's population (consoles logged
//! in, terminals registered: left by an earlier run, or by someone else), and cleaning it.
//! Reads and clean-up requests are not the profile's load: they are not measured.

use crate::schedule::{Population, Shard};
use crate::targets::{Request, Target, TargetError};
use futures::StreamExt;
use rcload_api::Op;
use std::time::Duration;

/// Reads or clean-ups in flight at once.
const AT_ONCE: usize = 32;

/// What the target already holds of the population.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Console ids logged in.
    pub consoles: Vec<String>,
    /// ISSIs registered.
    pub terminals: Vec<u32>,
    /// Consoles and terminals the target could not say anything about.
    pub unknown_consoles: u64,
    pub unknown_terminals: u64,
}

impl Found {
    pub fn is_clean(&self) -> bool {
        self.consoles.is_empty() && self.terminals.is_empty()
    }

    /// `2 consoles logged in (room01-con01, room01-con02), 1 terminal registered (1000004)`,
    /// naming the first few of each.
    pub fn describe(&self) -> String {
        const NAMED: usize = 5;
        fn part<T: ToString>(items: &[T], one: &str, many: &str) -> Option<String> {
            if items.is_empty() {
                return None;
            }
            let mut names: Vec<String> = items.iter().take(NAMED).map(T::to_string).collect();
            if items.len() > NAMED {
                names.push(format!("and {} more", items.len() - NAMED));
            }
            Some(format!(
                "{} ({})",
                crate::text::plural(items.len() as u64, one, many),
                names.join(", ")
            ))
        }
        [
            part(&self.consoles, "console logged in", "consoles logged in"),
            part(
                &self.terminals,
                "terminal registered",
                "terminals registered",
            ),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// Ask the target about every console and terminal of the population, within `timeout`
/// (what was not answered by then is unknown).
/// A shard asks only about its own (`shard`; [`Shard::WHOLE`] for a whole run).
pub async fn find(target: &dyn Target, pop: &Population, shard: Shard, timeout: Duration) -> Found {
    let deadline = tokio::time::Instant::now() + timeout;
    let consoles: Vec<String> = (0..pop.console_count())
        .filter(|c| shard.owns_console(*c))
        .map(|c| pop.console_id(c))
        .collect();
    let terminals: Vec<u32> = (0..pop.terminals)
        .filter(|t| shard.owns_terminal(*t))
        .map(|t| pop.issi(t))
        .collect();
    let console_answers = bounded(
        futures::stream::iter(consoles.iter())
            .map(|id| async move { (id.clone(), target.console_logged_in(id).await) })
            .buffer_unordered(AT_ONCE),
        deadline,
    )
    .await;
    let terminal_answers = bounded(
        futures::stream::iter(terminals.iter().copied())
            .map(|issi| async move { (issi, target.terminal_registered(issi).await) })
            .buffer_unordered(AT_ONCE),
        deadline,
    )
    .await;
    let mut found = Found::default();
    let known_consoles = console_answers.iter().filter(|(_, a)| a.is_some()).count();
    found.unknown_consoles = consoles.len().saturating_sub(known_consoles) as u64;
    found.consoles = console_answers
        .into_iter()
        .filter(|(_, a)| *a == Some(true))
        .map(|(id, _)| id)
        .collect();
    found.consoles.sort();
    let known_terminals = terminal_answers.iter().filter(|(_, a)| a.is_some()).count();
    found.unknown_terminals = (terminals.len() as u64).saturating_sub(known_terminals as u64);
    found.terminals = terminal_answers
        .into_iter()
        .filter(|(_, a)| *a == Some(true))
        .map(|(issi, _)| issi)
        .collect();
    found.terminals.sort_unstable();
    found
}

/// The items of `s` that came before `deadline`.
async fn bounded<T>(s: impl futures::Stream<Item = T>, deadline: tokio::time::Instant) -> Vec<T> {
    let mut out = Vec::new();
    let mut s = std::pin::pin!(s);
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, s.next()).await {
        out.push(item);
    }
    out
}

/// What a clean-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub logged_out: u64,
    pub deregistered: u64,
    /// Already clean: the target answered `not_logged_in` or `not_registered`.
    pub already: u64,
    /// Requests that failed otherwise (or were not answered in time), as `what: error`.
    pub failed: Vec<String>,
}

impl Cleaned {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "logged out {} {}, deregistered {} {}",
            self.logged_out,
            if self.logged_out == 1 {
                "console"
            } else {
                "consoles"
            },
            self.deregistered,
            if self.deregistered == 1 {
                "terminal"
            } else {
                "terminals"
            },
        );
        if self.already > 0 {
            s.push_str(&format!(" ({} already clean)", self.already));
        }
        if !self.failed.is_empty() {
            s.push_str(&format!(
                "; {} failed: {}",
                self.failed.len(),
                self.failed
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        s
    }
}

/// Log out `consoles` and deregister `terminals` (ids as the target knows them), within
/// `timeout`: terminals first, then consoles.
pub async fn clean(
    target: &dyn Target,
    consoles: &[String],
    terminals: &[u32],
    timeout: Duration,
) -> Cleaned {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut cleaned = Cleaned::default();
    let mut asked = 0usize;
    if !terminals.is_empty() && target.supports(Op::TerminalDeregister) {
        let answers = bounded(
            futures::stream::iter(terminals.iter().copied())
                .map(|issi| async move {
                    let r = target.perform(Request::Deregister { issi }).await;
                    (format!("terminal {issi}"), r)
                })
                .buffer_unordered(AT_ONCE),
            deadline,
        )
        .await;
        asked += terminals.len();
        for (what, r) in answers {
            match r {
                Ok(_) => cleaned.deregistered += 1,
                Err(e) if absent(&e, 404, "not_registered") => cleaned.already += 1,
                Err(e) => cleaned.failed.push(format!("{what}: {e}")),
            }
        }
    } else if !terminals.is_empty() {
        cleaned.failed.push(format!(
            "{} terminals: the target does not offer deregistration",
            terminals.len()
        ));
    }
    if !consoles.is_empty() && target.supports(Op::ConsoleLogout) {
        let answers = bounded(
            futures::stream::iter(consoles.iter())
                .map(|id| async move {
                    let r = target
                        .perform(Request::Logout {
                            console: id.clone(),
                        })
                        .await;
                    (format!("console {id}"), r)
                })
                .buffer_unordered(AT_ONCE),
            deadline,
        )
        .await;
        asked += consoles.len();
        for (what, r) in answers {
            match r {
                Ok(_) => cleaned.logged_out += 1,
                Err(e) if absent(&e, 409, "not_logged_in") => cleaned.already += 1,
                Err(e) => cleaned.failed.push(format!("{what}: {e}")),
            }
        }
    } else if !consoles.is_empty() {
        cleaned.failed.push(format!(
            "{} consoles: the target does not offer logout",
            consoles.len()
        ));
    }
    let answered =
        cleaned.logged_out + cleaned.deregistered + cleaned.already + cleaned.failed.len() as u64;
    if (answered as usize) < asked {
        cleaned.failed.push(format!(
            "{} not answered within {:.0} s",
            asked - answered as usize,
            timeout.as_secs_f64()
        ));
    }
    cleaned
}

fn absent(e: &TargetError, status: u16, code: &str) -> bool {
    matches!(e, TargetError::Http { status: s, code: c, .. } if *s == status && c.as_deref() == Some(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_named_the_first_few_of_each() {
        let f = Found {
            consoles: (1..=7).map(|i| format!("room01-con{i:02}")).collect(),
            terminals: vec![1_000_004],
            ..Found::default()
        };
        assert!(!f.is_clean());
        assert_eq!(
            f.describe(),
            "7 consoles logged in (room01-con01, room01-con02, room01-con03, room01-con04, \
             room01-con05, and 2 more), 1 terminal registered (1000004)"
        );
        assert!(Found::default().is_clean());
        let c = Cleaned {
            logged_out: 1,
            deregistered: 2,
            already: 3,
            failed: vec!["console x: timed out".into()],
        };
        assert_eq!(
            c.describe(),
            "logged out 1 console, deregistered 2 terminals (3 already clean); 1 failed: \
             console x: timed out"
        );
    }
}
