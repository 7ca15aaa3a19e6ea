//! Load profiles: YAML text -> typed, validated [`Profile`], with `--set` overrides applied.
//!
//! Every error names the file, line, column and field, with a hint where one helps. Built-in
//! profiles are compiled into the binary from `profiles/`.

pub mod clock;
pub mod limits;

mod overrides;
mod phases;
pub mod time_scale;
mod types;
mod validate;

pub use crate::locate::{FieldPath, KeyIndex, Problem};
pub use overrides::{Override, parse_override};
pub use phases::{
    DEFAULT_HOLD_S, Phase, PhaseKind, TEARDOWN, cut_events, phases_of, secs_to_us, teardown_phase,
};
pub use types::*;
pub use validate::{DELIVERY_TYPES, FIRST_GSSI, FIRST_ISSI};

use std::path::Path;

/// Built-in profiles: (name, one-line purpose, YAML text).
pub const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "smoke",
        "small shift change and emergency burst (default of `rcload run`)",
        include_str!("../../profiles/smoke.yaml"),
    ),
    (
        "shift-change",
        "afternoon shift change in 13 control rooms at C2000 scale",
        include_str!("../../profiles/shift-change.yaml"),
    ),
    (
        "c2000-fleet",
        "a C2000-like fleet and a made-up afternoon replayed at 3x, objectives per room",
        include_str!("../../profiles/c2000-fleet.yaml"),
    ),
    (
        "incident-2023-05-11",
        "replay of the 11 May 2023 afternoon shift change against the fragile-2023 mock",
        include_str!("../../profiles/incident-2023-05-11.yaml"),
    ),
    (
        "emergency-burst",
        "a burst of emergency calls on a few talkgroups over steady load",
        include_str!("../../profiles/emergency-burst.yaml"),
    ),
    (
        "nightly-soak",
        "the day's rates, with the shift changes at 07:00, 15:00 and 23:00 that fall in it",
        include_str!("../../profiles/nightly-soak.yaml"),
    ),
];

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{file}: cannot read the profile: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: the profile is empty\n  hint: start from a built-in one: `rcload profiles`")]
    Empty { file: String },
    #[error("{file}:{line}:{column}: {field}: {message}{}", hint_text(.hint))]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
        hint: Option<String>,
    },
    #[error("{file}: {field}: {message}{}", hint_text(.hint))]
    Unplaced {
        file: String,
        field: String,
        message: String,
        hint: Option<String>,
    },
    #[error("--set {expr}: {message}")]
    Override { expr: String, message: String },
    #[error("--time-scale: {0}")]
    TimeScale(String),
    /// The fleet map `population.fleet` names (its file, line and entry).
    #[error("{0}")]
    Fleet(#[from] crate::fleet::FleetError),
    /// A replay's records file (its file, line and record).
    #[error("{0}")]
    Records(#[from] crate::replay::RecordsError),
    /// Every problem of the profile, each on its own line (first the first in the file).
    #[error("{}", several_text(.0))]
    Several(Vec<ProfileError>),
}

fn several_text(all: &[ProfileError]) -> String {
    let mut lines: Vec<String> = all.iter().map(|e| e.to_string()).collect();
    lines.push(format!("{} problems in this profile", all.len()));
    lines.join("\n")
}

fn hint_text(h: &Option<String>) -> String {
    match h {
        Some(h) => format!("\n  hint: {h}"),
        None => String::new(),
    }
}

/// Where a profile's text came from, for messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// A path, or `builtin:<name>`.
    pub name: String,
    pub text: String,
}

/// Find a profile by built-in name or path and read it: at most [`limits::MAX_FILE_BYTES`], a
/// larger file is refused before it is parsed (naming the field that takes most of it).
pub fn read_source(spec: &str) -> Result<Source, ProfileError> {
    use std::io::Read;
    let path = Path::new(spec);
    if !path.exists()
        && let Some((name, _, text)) = BUILTIN.iter().find(|(n, _, _)| *n == spec)
    {
        return Ok(Source {
            name: format!("builtin:{name}"),
            text: (*text).to_string(),
        });
    }
    let read_error = |source: std::io::Error| ProfileError::Read {
        file: spec.to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    let most = limits::MAX_FILE_BYTES as u64 + 1;
    file.take(most)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() > limits::MAX_FILE_BYTES {
        return Err(limits::too_large(spec, &bytes));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })?;
    Ok(Source {
        name: spec.to_string(),
        text,
    })
}

/// Parse, override and validate a profile.
pub fn load(source: &Source, overrides: &[Override]) -> Result<Profile, ProfileError> {
    load_scaled(source, overrides, None)
}

/// [`load`], with the timeline scaled by `time_scale` (`--time-scale`) before it is checked.
pub fn load_scaled(
    source: &Source,
    overrides: &[Override],
    time_scale: Option<f64>,
) -> Result<Profile, ProfileError> {
    if source.text.len() > limits::MAX_FILE_BYTES {
        let head = &source.text.as_bytes()[..=limits::MAX_FILE_BYTES];
        return Err(limits::too_large(&source.name, head));
    }
    if source
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        return Err(ProfileError::Empty {
            file: source.name.clone(),
        });
    }
    let index = KeyIndex::new(&source.text);
    let mut profile: Profile =
        serde_saphyr::from_str(&source.text).map_err(|e| parse_error(source, &index, &e))?;
    if !overrides.is_empty() {
        profile = overrides::apply(&profile, overrides)?;
    }
    if let Some(f) = time_scale {
        profile = time_scale::scale(&profile, f).map_err(ProfileError::TimeScale)?;
    }
    let mut errors: Vec<ProfileError> = validate::check(&profile)
        .into_iter()
        .map(|p| located(source, &index, overrides, p))
        .collect();
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(ProfileError::Several(errors)),
    }
    if let Some(f) = &profile.population.fleet {
        let path = fleet_path(&source.name, f);
        profile.fleet = Some(std::sync::Arc::new(crate::fleet::load(&path)?));
    }
    if let Some(Like::C2000) = profile.population.like {
        let mut figures = crate::fleet::generate::Figures::c2000();
        figures.seed = profile.seed;
        profile.fleet = Some(std::sync::Arc::new(crate::fleet::generate::generate(
            &figures,
        )));
    }
    if let Some(f) = &profile.fleet {
        fleet_within_limits(&source.name, &profile.limits, f)?;
    }
    let seed = profile.seed;
    let fleet = profile.fleet.clone();
    for t in &mut profile.traffic {
        if let TrafficEntry::Replay(r) = t {
            r.records = Some(std::sync::Arc::new(records_of(
                &source.name,
                r,
                fleet.as_deref(),
                seed,
            )?));
        }
    }
    Ok(profile)
}

/// A fleet is held to the limits the figures are (`limits:` raises them).
fn fleet_within_limits(
    profile: &str,
    l: &ProfileLimits,
    f: &crate::fleet::Fleet,
) -> Result<(), ProfileError> {
    let monitored: u64 = f.consoles.iter().map(|c| c.monitors.len() as u64).sum();
    let checks = [
        ("control_rooms", f.rooms.len() as u64, l.control_rooms()),
        ("consoles", f.consoles.len() as u64, l.consoles()),
        ("terminals", f.terminals.len() as u64, l.terminals()),
        ("talkgroups", f.talkgroups.len() as u64, l.talkgroups()),
        ("monitored", monitored, l.monitored()),
    ];
    for (what, n, limit) in checks {
        if n > limit {
            return Err(ProfileError::Unplaced {
                file: profile.to_string(),
                field: "population.fleet".into(),
                message: format!(
                    "the fleet has {} {what}, more than the limit of {}",
                    limits::thousands(n),
                    limits::thousands(limit)
                ),
                hint: Some(format!("raise it with `limits: {{ {what}: N }}`")),
            });
        }
    }
    Ok(())
}

/// A replay's records: its file, or a day made up from its figures and the fleet (the
/// slice `from`-`to` of it, or the whole day).
fn records_of(
    profile: &str,
    r: &Replay,
    fleet: Option<&crate::fleet::Fleet>,
    seed: u64,
) -> Result<crate::replay::Records, ProfileError> {
    match &r.source {
        ReplaySource::File(f) => {
            let path = fleet_path(profile, f);
            let mut records = crate::replay::load(&path)?;
            records.file = path;
            Ok(records)
        }
        ReplaySource::Like(Like::C2000) => {
            let Some(fleet) = fleet else {
                return Err(ProfileError::Unplaced {
                    file: profile.to_string(),
                    field: "traffic".into(),
                    message: "a replay `like: c2000` needs a fleet: `population: { like: c2000 }` \
                              or `population: { fleet: ... }`"
                        .into(),
                    hint: None,
                });
            };
            // A clock time bounds the day made up; seconds from the first record need the
            // whole day.
            let secs = |t: &Option<String>, default: f64| {
                t.as_deref()
                    .filter(|t| t.contains(':'))
                    .and_then(crate::replay::parse_time)
                    .map_or(default, |us| us as f64 / 1e6)
            };
            let day = crate::replay::generate::DayFigures::c2000(seed);
            Ok(crate::replay::generate::day(
                fleet,
                &day,
                secs(&r.from, 0.0),
                secs(&r.to, 86_400.0),
            ))
        }
    }
}

/// `to` with what `from`'s files gave it (the fleet, the replays' records): an override
/// goes through a JSON tree that does not carry them.
fn keep_files(from: &Profile, mut to: Profile) -> Profile {
    to.fleet = from.fleet.clone();
    for (a, b) in from.traffic.iter().zip(to.traffic.iter_mut()) {
        if let (TrafficEntry::Replay(a), TrafficEntry::Replay(b)) = (a, b)
            && a.source == b.source
        {
            b.records = a.records.clone();
        }
    }
    to
}

/// Where `population.fleet` (`fleet`) is: from the profile's directory when relative (from
/// the working directory for a built-in profile).
fn fleet_path(profile: &str, fleet: &str) -> std::path::PathBuf {
    let f = Path::new(fleet);
    match Path::new(profile).parent() {
        Some(dir) if f.is_relative() && !profile.starts_with("builtin:") => dir.join(f),
        _ => f.to_path_buf(),
    }
}

/// A problem, placed in the file (or on the `--set` that caused it).
fn located(
    source: &Source,
    index: &KeyIndex,
    overrides: &[Override],
    p: crate::locate::Problem,
) -> ProfileError {
    {
        let overridden = overrides
            .iter()
            .find(|o| p.path.to_string().starts_with(&o.path_text));
        if let Some(o) = overridden {
            return ProfileError::Override {
                expr: o.expr.clone(),
                message: format!("{}: {}{}", p.path, p.message, hint_text(&p.hint)),
            };
        }
        match index.locate(&p.path) {
            Some((line, column)) => ProfileError::Invalid {
                file: source.name.clone(),
                line,
                column,
                field: p.path.to_string(),
                message: p.message,
                hint: p.hint,
            },
            None => ProfileError::Unplaced {
                file: source.name.clone(),
                field: p.path.to_string(),
                message: p.message,
                hint: p.hint,
            },
        }
    }
}

/// The first line of serde-saphyr's message, without its snippet, and a hint for common cases.
pub(crate) fn parse_error(
    source: &Source,
    index: &KeyIndex,
    e: &serde_saphyr::Error,
) -> ProfileError {
    let full = e.without_snippet().to_string();
    let message = full.lines().next().unwrap_or("invalid profile").trim();
    // The place is given in front; drop serde-saphyr's own " at line L, column C".
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains("column") => &message[..i],
        _ => message,
    };
    let message = message
        .replace("invalid u32", "expected a whole number")
        .replace("invalid u64", "expected a whole number");
    let hint = if message.contains("unknown field") {
        Some("check the spelling; docs/profiles.md lists every field".to_string())
    } else if message.contains("unknown variant") {
        Some("the message lists the values this field takes".to_string())
    } else if message.contains("missing field") {
        Some("add the field; docs/profiles.md lists every field".to_string())
    } else {
        None
    };
    match e.location() {
        Some(loc) => {
            let line = usize::try_from(loc.line()).unwrap_or(0);
            let column = usize::try_from(loc.column()).unwrap_or(0);
            let field = index
                .path_at(line, column)
                .map(|p| p.to_string())
                .unwrap_or_else(|| "(top level)".to_string());
            ProfileError::Invalid {
                file: source.name.clone(),
                line,
                column,
                field,
                message,
                hint,
            }
        }
        None => ProfileError::Unplaced {
            file: source.name.clone(),
            field: "(unknown)".to_string(),
            message,
            hint,
        },
    }
}

/// A profile with `overrides` applied and checked again (the first problem is returned).
pub fn with_overrides(p: &Profile, overrides: &[Override]) -> Result<Profile, ProfileError> {
    let out = keep_files(p, overrides::apply(p, overrides)?);
    if let Some(pr) = validate::check(&out).into_iter().next() {
        return Err(ProfileError::Override {
            expr: overrides
                .iter()
                .map(|o| o.expr.clone())
                .collect::<Vec<_>>()
                .join(" "),
            message: format!("{}: {}", pr.path, pr.message),
        });
    }
    Ok(out)
}

/// Resolve a profile's clock times (`profile::clock`) for a run starting at `start` (text of
/// `--clock-start`) or now. Problems are located in the profile's text.
pub fn resolve_clock(
    source: &Source,
    p: &Profile,
    start: Option<&str>,
) -> Result<Profile, ProfileError> {
    if !clock::uses_clock(p) {
        return Ok(p.clone());
    }
    let index = KeyIndex::new(&source.text);
    let place = |pr: Problem| match index.locate(&pr.path) {
        Some((line, column)) => ProfileError::Invalid {
            file: source.name.clone(),
            line,
            column,
            field: pr.path.to_string(),
            message: pr.message,
            hint: pr.hint,
        },
        None => ProfileError::Unplaced {
            file: source.name.clone(),
            field: pr.path.to_string(),
            message: pr.message,
            hint: pr.hint,
        },
    };
    let tz = clock::time_zone(p).map_err(place)?;
    let start = match start {
        Some(text) => clock::parse_start(text, &tz).map_err(|message| ProfileError::Override {
            expr: format!("--clock-start {text}"),
            message,
        })?,
        None => jiff::Timestamp::now(),
    };
    clock::resolve(p, start).map_err(place)
}

/// Parse and check a mock configuration file (`rcload mock --config FILE`, or `--faults FILE`
/// with only `faults:`), with located errors like a profile's.
pub fn load_mock_spec(source: &Source) -> Result<rcload_mock::MockSpec, ProfileError> {
    if source.text.trim().is_empty() {
        return Err(ProfileError::Empty {
            file: source.name.clone(),
        });
    }
    let index = KeyIndex::new(&source.text);
    let spec: rcload_mock::MockSpec =
        serde_saphyr::from_str(&source.text).map_err(|e| parse_error(source, &index, &e))?;
    if let Some((path, message)) = spec.check().into_iter().next() {
        let path = FieldPath::parse(&path);
        let (line, column) = index.locate(&path).unwrap_or((0, 0));
        return Err(ProfileError::Invalid {
            file: source.name.clone(),
            line,
            column,
            field: path.to_string(),
            message,
            hint: Some("docs/mock.md lists the mock's fields, presets and fault kinds".into()),
        });
    }
    Ok(spec)
}

/// Serialize a resolved profile back to YAML (written into every run directory).
pub fn to_yaml(p: &Profile) -> String {
    serde_saphyr::to_string(p).unwrap_or_else(|e| format!("# could not serialize: {e}\n"))
}

#[cfg(test)]
mod tests;
