//! `--set path=value` overrides: applied to the parsed profile through a JSON tree, then
//! parsed back, so the same types and checks apply as for the file.

use super::ProfileError;
use super::types::Profile;

/// One `--set` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// As the user wrote it, for messages.
    pub expr: String,
    /// The path as written (`population.terminals`), used to attribute check failures.
    pub path_text: String,
    segments: Vec<String>,
    value: serde_json::Value,
}

/// Parse `path=value`. Paths use dots; a key with dots goes in brackets
/// (`slo[console.login].p99=2s`); a list item is its index (`traffic.0.rate=80/s`), or the
/// action or kind of every entry it names (`traffic.status.rate=80/s`,
/// `events.shift_change.terminals=60%`).
pub fn parse_override(expr: &str) -> Result<Override, ProfileError> {
    let err = |message: String| ProfileError::Override {
        expr: expr.to_string(),
        message,
    };
    let (path, value) = expr
        .split_once('=')
        .ok_or_else(|| err("expected `path=value`, e.g. `population.terminals=500`".into()))?;
    let path = path.trim();
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let (inner, after) = r
                .split_once(']')
                .ok_or_else(|| err(format!("unclosed `[` in `{path}`")))?;
            segments.push(inner.to_string());
            rest = after.strip_prefix('.').unwrap_or(after);
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push(rest[..end].to_string());
            rest = &rest[end..];
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
    }
    if segments.is_empty() || segments.iter().any(String::is_empty) {
        return Err(err(format!("`{path}` is not a field path")));
    }
    let value = serde_saphyr::from_str::<serde_json::Value>(value)
        .ok()
        .filter(|v| !v.is_null() || value.trim() == "null")
        .unwrap_or_else(|| serde_json::Value::String(value.to_string()));
    Ok(Override {
        expr: expr.to_string(),
        path_text: path.replace(['[', ']'], "."),
        segments,
        value,
    })
}

fn set(
    node: &mut serde_json::Value,
    segs: &[String],
    value: serde_json::Value,
) -> Result<(), String> {
    let Some((first, rest)) = segs.split_first() else {
        *node = value;
        return Ok(());
    };
    match node {
        serde_json::Value::Object(map) => {
            let child = map
                .entry(first.clone())
                .or_insert(serde_json::Value::Object(Default::default()));
            set(child, rest, value)
        }
        serde_json::Value::Array(items) => {
            if let Ok(i) = first.parse::<usize>() {
                let len = items.len();
                let child = items.get_mut(i).ok_or_else(|| {
                    format!("index {i} is out of range (the list has {len} items)")
                })?;
                return set(child, rest, value);
            }
            // By name: every entry whose `action` (traffic) or `kind` (events) it is.
            let named: Vec<usize> = (0..items.len())
                .filter(|i| entry_name(&items[*i]) == Some(first.as_str()))
                .collect();
            if named.is_empty() {
                let mut names: Vec<&str> = items.iter().filter_map(entry_name).collect();
                names.dedup();
                return Err(format!(
                    "`{first}` is neither a list index nor the action or kind of an entry \
                     (the entries: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
            }
            for i in named {
                set(&mut items[i], rest, value.clone())?;
            }
            Ok(())
        }
        _ => Err(format!(
            "`{first}` is below a value that is not a map or list"
        )),
    }
}

/// A list entry's name: a traffic entry's `action`, an event's `kind`.
fn entry_name(item: &serde_json::Value) -> Option<&str> {
    item.get("action")
        .or_else(|| item.get("kind"))
        .and_then(|v| v.as_str())
}

/// Apply overrides in order.
pub(super) fn apply(profile: &Profile, overrides: &[Override]) -> Result<Profile, ProfileError> {
    let mut tree = serde_json::to_value(profile).map_err(|e| ProfileError::Override {
        expr: String::new(),
        message: e.to_string(),
    })?;
    for o in overrides {
        set(&mut tree, &o.segments, o.value.clone()).map_err(|message| ProfileError::Override {
            expr: o.expr.clone(),
            message,
        })?;
        // Parse after each one so an error names the override that caused it.
        serde_json::from_value::<Profile>(tree.clone()).map_err(|e| ProfileError::Override {
            expr: o.expr.clone(),
            message: e.to_string(),
        })?;
    }
    serde_json::from_value(tree).map_err(|e| ProfileError::Override {
        expr: String::new(),
        message: e.to_string(),
    })
}
