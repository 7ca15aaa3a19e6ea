//! Fleet maps: a real system's own population (docs/fleet.md). A small YAML file names the
//! disciplines and the control rooms and points at three CSV files: the consoles (id as the
//! system knows it, room, discipline, the talkgroups it monitors), the talkgroups (GSSI,
//! name, owning room or shared) and the terminals (ISSI, home talkgroup, discipline).
//!
//! Pure data and checks: loading reads the files; everything else is a function of them.
//! Errors name the file, the line and the entry.

pub mod anonymise;
pub mod generate;

use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A fleet, checked: every reference resolves, no id twice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fleet {
    pub name: String,
    pub disciplines: Vec<String>,
    /// Room ids, in the file's order.
    pub rooms: Vec<String>,
    pub consoles: Vec<Console>,
    pub talkgroups: Vec<Talkgroup>,
    pub terminals: Vec<Terminal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    pub id: String,
    /// Index into [`Fleet::rooms`].
    pub room: u32,
    /// Index into [`Fleet::disciplines`].
    pub discipline: Option<u16>,
    /// GSSIs.
    pub monitors: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Talkgroup {
    pub gssi: u32,
    pub name: String,
    /// The owning room (index), `None` when shared.
    pub room: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    pub issi: u32,
    /// GSSI of its home talkgroup.
    pub home: u32,
    pub discipline: Option<u16>,
}

/// What is wrong with a fleet, and where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FleetError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// The YAML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    disciplines: Vec<String>,
    rooms: Vec<RoomEntry>,
    consoles: String,
    talkgroups: String,
    terminals: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
enum RoomEntry {
    Id(String),
    Full { id: String },
}

impl RoomEntry {
    fn id(&self) -> &str {
        match self {
            RoomEntry::Id(id) | RoomEntry::Full { id } => id,
        }
    }
}

/// The largest fleet file, and each CSV file, read (bytes).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

fn read(path: &Path) -> Result<String, FleetError> {
    let err = |message: String| FleetError {
        file: path.to_path_buf(),
        line: None,
        message,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(err(format!(
            "{len} bytes: larger than the {MAX_FILE_BYTES}-byte limit"
        )));
    }
    std::fs::read_to_string(path).map_err(|e| err(e.to_string()))
}

/// Load and check the fleet of `path` (its CSV files are taken from its directory).
pub fn load(path: &Path) -> Result<Fleet, FleetError> {
    let text = read(path)?;
    let file: FleetFile = serde_saphyr::from_str(&text).map_err(|e| {
        let full = e.without_snippet().to_string();
        let message = full.lines().next().unwrap_or("invalid fleet file").trim();
        let message = match message.rfind(" at line ") {
            Some(i) => &message[..i],
            None => message,
        };
        FleetError {
            file: path.to_path_buf(),
            line: e.location().and_then(|l| usize::try_from(l.line()).ok()),
            message: message.to_string(),
        }
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let paths = [&file.consoles, &file.talkgroups, &file.terminals].map(|n| dir.join(n));
    let tables = Tables {
        consoles: table(&paths[0])?,
        talkgroups: table(&paths[1])?,
        terminals: table(&paths[2])?,
    };
    build(path, &text, file, tables)
}

/// A CSV file of the fleet, its records read a line at a time.
type Csv = crate::csv::Reader<std::io::BufReader<std::fs::File>>;

/// The CSV file `path`, its header read.
fn table(path: &Path) -> Result<(PathBuf, Csv), FleetError> {
    let err = |line: Option<usize>, message: String| FleetError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| err(None, e.to_string()))?;
    let len = file.metadata().map_err(|e| err(None, e.to_string()))?.len();
    if len > MAX_FILE_BYTES {
        return Err(err(
            None,
            format!("{len} bytes: larger than the {MAX_FILE_BYTES}-byte limit"),
        ));
    }
    crate::csv::Reader::new(std::io::BufReader::new(file))
        .map(|r| (path.to_path_buf(), r))
        .map_err(|(line, message)| err(Some(line), message))
}

/// The three CSV files.
struct Tables {
    consoles: (PathBuf, Csv),
    talkgroups: (PathBuf, Csv),
    terminals: (PathBuf, Csv),
}

/// The records of `t` (the file `file`), each or the error that names its line.
fn records<'a>(
    file: &'a Path,
    t: &'a mut Csv,
) -> impl Iterator<Item = Result<crate::csv::Record, FleetError>> + 'a {
    t.map(move |r| {
        r.map_err(|(line, message)| FleetError {
            file: file.to_path_buf(),
            line: Some(line),
            message,
        })
    })
}

/// Column `name`'s index in `t`, or an error naming the file.
fn column(file: &Path, t: &Csv, name: &str) -> Result<usize, FleetError> {
    t.column(name).ok_or_else(|| FleetError {
        file: file.to_path_buf(),
        line: Some(1),
        message: format!(
            "no `{name}` column (the header has: {})",
            t.columns.join(",")
        ),
    })
}

/// The fleet from its YAML file (`path`, whose text is `text`) and its three tables: each
/// record checked against the others, every error naming its file and line.
fn build(path: &Path, text: &str, file: FleetFile, tables: Tables) -> Result<Fleet, FleetError> {
    let Names { disciplines, rooms } = names(path, text, &file)?;
    let (tg_path, mut tg) = tables.talkgroups;
    let (talkgroups, gssi_line) = read_talkgroups(&tg_path, &mut tg, &rooms)?;
    let known = Known {
        disciplines: &disciplines,
        rooms: &rooms,
        gssi_line: &gssi_line,
        talkgroups_file: &tg_path,
    };
    let (c_path, mut ct) = tables.consoles;
    let consoles = read_consoles(&c_path, &mut ct, &known)?;
    let (t_path, mut tt) = tables.terminals;
    let terminals = read_terminals(&t_path, &mut tt, &known)?;
    if consoles.is_empty() && terminals.is_empty() {
        return Err(FleetError {
            file: path.to_path_buf(),
            line: None,
            message: "the fleet has no consoles and no terminals".into(),
        });
    }
    Ok(Fleet {
        name: file.name,
        disciplines: file.disciplines,
        rooms: file.rooms.iter().map(|r| r.id().to_string()).collect(),
        consoles,
        talkgroups,
        terminals,
    })
}

/// The fleet's disciplines (lower case) and rooms, each to its index; one given twice is an
/// error at its place in the YAML file.
fn names<'f>(path: &Path, text: &str, file: &'f FleetFile) -> Result<Names<'f>, FleetError> {
    let in_yaml = |field: String, message: String| FleetError {
        file: path.to_path_buf(),
        line: crate::locate::KeyIndex::new(text)
            .locate(&crate::locate::FieldPath::parse(&field))
            .map(|(line, _)| line),
        message: format!("{field}: {message}"),
    };
    let mut disciplines: HashMap<String, u16> = HashMap::new();
    for (i, d) in file.disciplines.iter().enumerate() {
        if disciplines
            .insert(d.to_ascii_lowercase(), i as u16)
            .is_some()
        {
            return Err(in_yaml(format!("disciplines[{i}]"), format!("`{d}` twice")));
        }
    }
    let mut rooms: HashMap<&str, u32> = HashMap::new();
    for (i, r) in file.rooms.iter().enumerate() {
        if r.id().is_empty() || rooms.insert(r.id(), i as u32).is_some() {
            return Err(in_yaml(
                format!("rooms[{i}]"),
                format!("room `{}` is empty or given twice", r.id()),
            ));
        }
    }
    Ok(Names { disciplines, rooms })
}

/// The fleet's disciplines (lower case) and rooms, each to its index in the YAML file.
struct Names<'f> {
    disciplines: HashMap<String, u16>,
    rooms: HashMap<&'f str, u32>,
}

/// What the tables are checked against: the YAML file's disciplines and rooms, and the
/// talkgroups read (each GSSI to its line of `talkgroups_file`).
struct Known<'a> {
    disciplines: &'a HashMap<String, u16>,
    rooms: &'a HashMap<&'a str, u32>,
    gssi_line: &'a HashMap<u32, usize>,
    talkgroups_file: &'a Path,
}

impl Known<'_> {
    /// The index of discipline `d` (none when empty), or an error at `file`'s `line`.
    fn discipline(&self, file: &Path, line: usize, d: &str) -> Result<Option<u16>, FleetError> {
        if d.is_empty() {
            return Ok(None);
        }
        self.disciplines
            .get(&d.to_ascii_lowercase())
            .copied()
            .map(Some)
            .ok_or_else(|| FleetError {
                file: file.to_path_buf(),
                line: Some(line),
                message: format!(
                    "discipline `{d}` is not among the fleet's disciplines ({})",
                    file_disciplines(&file_list(self.disciplines))
                ),
            })
    }
}

/// The talkgroups table, and each GSSI's line.
fn read_talkgroups(
    tg_path: &Path,
    tg: &mut Csv,
    rooms: &HashMap<&str, u32>,
) -> Result<(Vec<Talkgroup>, HashMap<u32, usize>), FleetError> {
    let (c_gssi, c_name, c_room) = (
        column(tg_path, tg, "gssi")?,
        tg.column("name"),
        tg.column("room"),
    );
    let mut talkgroups = Vec::new();
    let mut gssi_line: HashMap<u32, usize> = HashMap::new();
    for r in records(tg_path, tg) {
        let r = r?;
        let at = |message: String| FleetError {
            file: tg_path.to_path_buf(),
            line: Some(r.line),
            message,
        };
        let gssi = tetra_id(&r.fields[c_gssi]).map_err(|m| at(format!("gssi: {m}")))?;
        if let Some(first) = gssi_line.insert(gssi, r.line) {
            return Err(at(format!("GSSI {gssi} twice (first on line {first})")));
        }
        let room = match c_room.map(|c| r.fields[c].as_str()).unwrap_or("") {
            "" => None,
            id => Some(*rooms.get(id).ok_or_else(|| {
                at(format!(
                    "talkgroup {gssi}: room `{id}` is not in the fleet's rooms"
                ))
            })?),
        };
        talkgroups.push(Talkgroup {
            gssi,
            name: c_name.map(|c| r.fields[c].clone()).unwrap_or_default(),
            room,
        });
    }
    Ok((talkgroups, gssi_line))
}

/// The consoles table: each console's room, discipline and monitored talkgroups known.
fn read_consoles(
    c_path: &Path,
    ct: &mut Csv,
    known: &Known<'_>,
) -> Result<Vec<Console>, FleetError> {
    let (c_id, c_croom, c_disc, c_mon) = (
        column(c_path, ct, "console")?,
        column(c_path, ct, "room")?,
        ct.column("discipline"),
        column(c_path, ct, "monitors")?,
    );
    let mut consoles = Vec::new();
    let mut console_line: HashMap<String, usize> = HashMap::new();
    for r in records(c_path, ct) {
        let r = r?;
        let at = |message: String| FleetError {
            file: c_path.to_path_buf(),
            line: Some(r.line),
            message,
        };
        let id = r.fields[c_id].clone();
        if !rcload_api::valid_console_id(&id) {
            return Err(at(format!(
                "console id `{id}`: 1 to 64 letters, digits, `.`, `_` or `-`"
            )));
        }
        if let Some(first) = console_line.insert(id.clone(), r.line) {
            return Err(at(format!("console `{id}` twice (first on line {first})")));
        }
        let room_id = &r.fields[c_croom];
        let room = *known.rooms.get(room_id.as_str()).ok_or_else(|| {
            at(format!(
                "console `{id}`: room `{room_id}` is not in the fleet's rooms"
            ))
        })?;
        let discipline =
            known.discipline(c_path, r.line, c_disc.map_or("", |c| r.fields[c].as_str()))?;
        let mut monitors = Vec::new();
        for g in r.fields[c_mon].split_whitespace() {
            let gssi = tetra_id(g).map_err(|m| at(format!("console `{id}` monitors: {m}")))?;
            if !known.gssi_line.contains_key(&gssi) {
                return Err(at(format!(
                    "console `{id}` monitors talkgroup {gssi}, which is not in {}",
                    known.talkgroups_file.display()
                )));
            }
            if !monitors.contains(&gssi) {
                monitors.push(gssi);
            }
        }
        consoles.push(Console {
            id,
            room,
            discipline,
            monitors,
        });
    }
    Ok(consoles)
}

/// The terminals table: each terminal's home talkgroup and discipline known, no ISSI twice.
fn read_terminals(
    t_path: &Path,
    tt: &mut Csv,
    known: &Known<'_>,
) -> Result<Vec<Terminal>, FleetError> {
    let (c_issi, c_home, c_tdisc) = (
        column(t_path, tt, "issi")?,
        column(t_path, tt, "home")?,
        tt.column("discipline"),
    );
    let mut terminals = Vec::new();
    // (ISSI, line), sorted after the loop to find one twice: half the memory of a map.
    let mut issis: Vec<(u32, u32)> = Vec::new();
    for r in records(t_path, tt) {
        let r = r?;
        let at = |message: String| FleetError {
            file: t_path.to_path_buf(),
            line: Some(r.line),
            message,
        };
        let issi = tetra_id(&r.fields[c_issi]).map_err(|m| at(format!("issi: {m}")))?;
        issis.push((issi, r.line as u32));
        let home = tetra_id(&r.fields[c_home]).map_err(|m| at(format!("home: {m}")))?;
        if !known.gssi_line.contains_key(&home) {
            return Err(at(format!(
                "terminal {issi}: home talkgroup {home} is not in {}",
                known.talkgroups_file.display()
            )));
        }
        let discipline =
            known.discipline(t_path, r.line, c_tdisc.map_or("", |c| r.fields[c].as_str()))?;
        terminals.push(Terminal {
            issi,
            home,
            discipline,
        });
    }
    issis.sort_unstable();
    if let Some(w) = issis.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(FleetError {
            file: t_path.to_path_buf(),
            line: Some(w[1].1 as usize),
            message: format!("ISSI {} twice (first on line {})", w[0].0, w[0].1),
        });
    }
    Ok(terminals)
}

fn file_list(d: &HashMap<String, u16>) -> Vec<&str> {
    let mut v: Vec<(&u16, &str)> = d.iter().map(|(k, i)| (i, k.as_str())).collect();
    v.sort();
    v.into_iter().map(|(_, k)| k).collect()
}

fn file_disciplines(v: &[&str]) -> String {
    if v.is_empty() {
        "none listed".into()
    } else {
        v.join(", ")
    }
}

/// A 24-bit TETRA id (ISSI or GSSI), 1 to 16,777,215.
fn tetra_id(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if rcload_api::valid_tetra_id(n) => Ok(n as u32),
        _ => Err(format!("`{text}` is not a TETRA id (1 to 16777215)")),
    }
}

#[cfg(test)]
mod tests;
