//! `rcload fleet anonymise`: a fleet map and its recorded traffic with every identifier
//! replaced by a synthetic one derived from a secret key (HMAC-SHA256), so that a real
//! system's population can be shared without naming anyone in it.
//!
//! ISSIs and GSSIs go through a keyed permutation of the 24-bit id space (a Feistel network
//! on two 12-bit halves, cycle-walked onto 1..=16777215): an id maps to exactly one id and no
//! two ids to the same one, so the fleet and the records agree and nothing collides. ISSIs and
//! GSSIs are permuted apart (a different domain each). Console ids become `c-<12 hex>`, room
//! ids `room-<8 hex>`, talkgroup names `tg-<new GSSI>`. Disciplines, times, actions, kinds,
//! holds and codes are kept; other record columns are dropped (they could identify).
//!
//! Deterministic: the same input and key give byte-identical output. Without the key nothing
//! can be reversed.

use super::{Console, Fleet, Talkgroup, Terminal};
use aws_lc_rs::hmac;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The fewest key bytes accepted.
pub const MIN_KEY_BYTES: usize = 16;

/// The domain of ISSIs (terminals) for [`Key::tetra_id`].
pub const ISSI: &str = "issi";

/// The domain of GSSIs (talkgroups) for [`Key::tetra_id`].
pub const GSSI: &str = "gssi";

/// The largest TETRA id; ids run from 1.
const MAX_ID: u32 = rcload_api::MAX_ID;

/// Bits in each half of the Feistel network (24-bit ids: 12 + 12).
const HALF_BITS: u32 = 12;

const HALF_MASK: u32 = (1 << HALF_BITS) - 1;

/// Feistel rounds (at least 4 for a pseudorandom permutation; more for a small space).
const ROUNDS: u8 = 8;

/// The record columns kept, in the order they are written.
pub const RECORD_COLUMNS: [&str; 8] = [
    "time",
    "action",
    "issi",
    "console",
    "talkgroup",
    "kind",
    "hold",
    "code",
];

/// The files [`super::generate::write`] writes: a records file may not take their names.
const FLEET_FILES: [&str; 4] = [
    "fleet.yaml",
    "consoles.csv",
    "talkgroups.csv",
    "terminals.csv",
];

/// The secret every synthetic id is derived from: the key file's bytes, as they are (a
/// trailing newline is part of the key).
#[derive(Clone)]
pub struct Key(hmac::Key);

impl std::fmt::Debug for Key {
    /// Never shows the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// The key of `bytes` (the key file's contents); at least [`MIN_KEY_BYTES`] of them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Key, String> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key is {} byte{}: at least {MIN_KEY_BYTES} are needed \
                 (e.g. `head -c 32 /dev/urandom > key`)",
                bytes.len(),
                if bytes.len() == 1 { "" } else { "s" }
            ));
        }
        Ok(Key(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    /// HMAC-SHA256 of the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        for p in parts {
            ctx.update(p);
        }
        ctx.sign()
    }

    /// The new id of TETRA id `id` (1 to 16,777,215) in `domain` ([`ISSI`] or [`GSSI`]): a
    /// keyed permutation of 1..=16777215, so distinct ids stay distinct. An id outside that
    /// range is not a TETRA id and is returned as it is.
    pub fn tetra_id(&self, domain: &str, id: u32) -> u32 {
        if !in_range(id) {
            return id;
        }
        // Cycle walking: the network permutes 0..=16777215; the one id it sends to 0 goes on
        // to where 0 goes, which is in range (0 does not map to itself then).
        let mut out = self.permute(domain, id);
        while !in_range(out) {
            out = self.permute(domain, out);
        }
        out
    }

    /// The Feistel network on the 24-bit value `x`: `ROUNDS` rounds of
    /// `(l, r) -> (r, l ^ F(round, r))`.
    fn permute(&self, domain: &str, x: u32) -> u32 {
        let (mut l, mut r) = ((x >> HALF_BITS) & HALF_MASK, x & HALF_MASK);
        for round in 0..ROUNDS {
            (l, r) = (r, l ^ self.round(domain, round, r));
        }
        (l << HALF_BITS) | r
    }

    /// The round function: HMAC(key, `tetra:` || len(domain) || domain || round || half),
    /// truncated to 12 bits.
    fn round(&self, domain: &str, round: u8, half: u32) -> u32 {
        let half = (half & HALF_MASK) as u16;
        let tag = self.mac(&[
            b"tetra:",
            &(domain.len() as u64).to_be_bytes(),
            domain.as_bytes(),
            &[round],
            &half.to_be_bytes(),
        ]);
        u32::from(leading_u16(tag.as_ref())) & HALF_MASK
    }

    /// The new id of console `id`: `c-` and 12 hex digits of HMAC(key, `console:` || id).
    pub fn console_id(&self, id: &str) -> String {
        let tag = self.mac(&[b"console:", id.as_bytes()]);
        format!("c-{}", hex(tag.as_ref(), 6))
    }

    /// The new id of control room `id`: `room-` and 8 hex digits of HMAC(key, `room:` || id).
    pub fn room_id(&self, id: &str) -> String {
        let tag = self.mac(&[b"room:", id.as_bytes()]);
        format!("room-{}", hex(tag.as_ref(), 4))
    }
}

/// Whether `id` is a TETRA id (1 to 16,777,215).
fn in_range(id: u32) -> bool {
    (1..=MAX_ID).contains(&id)
}

/// The first two bytes of `bytes` as a big-endian number (0 if there are fewer).
fn leading_u16(bytes: &[u8]) -> u16 {
    match bytes {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// The first `n` bytes of `bytes` in lower-case hex.
fn hex(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

/// `fleet` with every ISSI, GSSI (talkgroups, monitored sets, homes), console id and room id
/// replaced, talkgroup names made `tg-<new GSSI>` and the name `anonymised`. Disciplines, the
/// rooms of consoles and talkgroups, and the order of everything are kept.
///
/// Console and room ids are hashes, not a permutation: two of them could in principle meet
/// (about n² / 2^49 for n consoles, n² / 2^33 for n rooms); loading the result would say so.
pub fn fleet(fleet: &Fleet, key: &Key) -> Fleet {
    Fleet {
        name: "anonymised".into(),
        disciplines: fleet.disciplines.clone(),
        rooms: fleet.rooms.iter().map(|r| key.room_id(r)).collect(),
        consoles: fleet.consoles.iter().map(|c| console(c, key)).collect(),
        talkgroups: fleet.talkgroups.iter().map(|t| talkgroup(t, key)).collect(),
        terminals: fleet.terminals.iter().map(|t| terminal(t, key)).collect(),
    }
}

fn console(c: &Console, key: &Key) -> Console {
    Console {
        id: key.console_id(&c.id),
        room: c.room,
        discipline: c.discipline,
        monitors: c.monitors.iter().map(|g| key.tetra_id(GSSI, *g)).collect(),
    }
}

fn talkgroup(t: &Talkgroup, key: &Key) -> Talkgroup {
    let gssi = key.tetra_id(GSSI, t.gssi);
    Talkgroup {
        gssi,
        name: format!("tg-{gssi}"),
        room: t.room,
    }
}

fn terminal(t: &Terminal, key: &Key) -> Terminal {
    Terminal {
        issi: key.tetra_id(ISSI, t.issi),
        home: key.tetra_id(GSSI, t.home),
        discipline: t.discipline,
    }
}

/// A records file (`text`, the whole file) anonymised: the columns of [`RECORD_COLUMNS`] it
/// has, in that order, under a header; `issi` and `talkgroup` permuted as in [`fleet`],
/// `console` hashed as in [`fleet`], the others as they are. Empty fields stay empty; other
/// columns are dropped. `Err((line, message))` for a file that does not parse, has none of
/// the columns, or names an ISSI or GSSI that is not a TETRA id.
pub fn records(text: &str, key: &Key) -> Result<String, (usize, String)> {
    let mut table = crate::csv::parse(text)?;
    let kept: Vec<(&str, usize)> = RECORD_COLUMNS
        .iter()
        .filter_map(|name| table.column(name).map(|i| (*name, i)))
        .collect();
    if kept.is_empty() {
        return Err((
            1,
            format!(
                "none of the record columns ({}) in the header ({})",
                RECORD_COLUMNS.join(","),
                table.columns.join(",")
            ),
        ));
    }
    let names: Vec<&str> = kept.iter().map(|(name, _)| *name).collect();
    let mut out = String::with_capacity(text.len());
    out.push_str(&names.join(","));
    out.push('\n');
    for r in table.by_ref() {
        let r = &r?;
        let mut fields = Vec::with_capacity(kept.len());
        for (name, i) in &kept {
            let field = r.fields.get(*i).map(String::as_str).unwrap_or("");
            let value = record_field(name, field, key).map_err(|m| (r.line, m))?;
            fields.push(quote(&value));
        }
        let line = fields.join(",");
        // A record of one empty field would read back as a blank line, which is skipped.
        out.push_str(if line.is_empty() {
            "\"\""
        } else {
            line.as_str()
        });
        out.push('\n');
    }
    Ok(out)
}

/// Field `field` of column `name`, anonymised.
fn record_field(name: &str, field: &str, key: &Key) -> Result<String, String> {
    if field.is_empty() {
        return Ok(String::new());
    }
    match name {
        "issi" => super::tetra_id(field)
            .map(|id| key.tetra_id(ISSI, id).to_string())
            .map_err(|m| format!("issi: {m}")),
        "talkgroup" => super::tetra_id(field)
            .map(|id| key.tetra_id(GSSI, id).to_string())
            .map_err(|m| format!("talkgroup: {m}")),
        "console" => Ok(key.console_id(field)),
        _ => Ok(field.to_string()),
    }
}

/// `field` as a CSV field that reads back as it is: quoted (`"` doubled) when it holds a
/// comma or a quote, starts with `#` (a comment line otherwise) or has space at either end
/// (trimmed otherwise).
fn quote(field: &str) -> String {
    let needs = field.contains([',', '"']) || field.starts_with('#') || field.trim() != field;
    if needs {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Write the anonymised `fleet` (`fleet.yaml` and its three CSV files, by
/// [`super::generate::write`]) and each anonymised records file `(name, text)` in `dir`
/// under the last component of its name; the paths written. A records name that is not a
/// file name, is one of the fleet's files or is given twice is refused before anything is
/// written.
pub fn write(
    fleet: &Fleet,
    records: &[(String, String)],
    dir: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    let mut names = Vec::with_capacity(records.len());
    let mut seen: HashSet<&std::ffi::OsStr> = HashSet::with_capacity(records.len());
    for (name, _) in records {
        let file = record_file_name(name)?;
        if !seen.insert(file) {
            return Err(invalid(format!(
                "records file name `{}` given twice",
                file.to_string_lossy()
            )));
        }
        names.push(file);
    }
    let mut written = super::generate::write(fleet, dir)?;
    for (file, (_, text)) in names.iter().zip(records) {
        let p = dir.join(file);
        std::fs::write(&p, text)?;
        written.push(p);
    }
    Ok(written)
}

/// The file name a records file is written under: the last component of `name`, unless it
/// has none or it is one of the fleet's files.
fn record_file_name(name: &str) -> std::io::Result<&std::ffi::OsStr> {
    let file = Path::new(name)
        .file_name()
        .ok_or_else(|| invalid(format!("records file `{name}`: not a file name")))?;
    if FLEET_FILES.iter().any(|f| std::ffi::OsStr::new(f) == file) {
        return Err(invalid(format!(
            "records file `{name}`: {} is one of the fleet's files ({})",
            file.to_string_lossy(),
            FLEET_FILES.join(", ")
        )));
    }
    Ok(file)
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::generate::{Figures, generate};
    use std::collections::HashSet;

    fn key(byte: u8) -> Key {
        Key::from_bytes(&[byte; 32]).expect("32 bytes")
    }

    fn small() -> Figures {
        super::super::generate::tiny()
    }

    fn temp_dir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "rcload-anonymise-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ))
    }

    /// The inverse of [`Key::permute`], to find the id the network sends to 0.
    fn unpermute(key: &Key, domain: &str, y: u32) -> u32 {
        let (mut l, mut r) = ((y >> HALF_BITS) & HALF_MASK, y & HALF_MASK);
        for round in (0..ROUNDS).rev() {
            (l, r) = (r ^ key.round(domain, round, l), l);
        }
        (l << HALF_BITS) | r
    }

    #[test]
    fn a_short_key_is_refused() {
        let e = Key::from_bytes(&[1u8; 15]).unwrap_err();
        assert!(e.contains("15 bytes") && e.contains("at least 16"), "{e}");
        assert!(Key::from_bytes(b"").is_err());
        assert!(Key::from_bytes(&[1u8; 16]).is_ok());
        assert_eq!(format!("{:?}", key(1)), "Key(..)");
    }

    #[test]
    fn ids_are_permuted_without_collisions() {
        let (k, other) = (key(7), key(8));
        let mut seen = HashSet::with_capacity(200_000);
        let (mut same_as_other_key, mut same_as_gssi) = (0, 0);
        for id in 1..=200_000u32 {
            let new = k.tetra_id(ISSI, id);
            assert!(in_range(new), "{id} -> {new}");
            assert!(seen.insert(new), "{id} -> {new}, already taken");
            if id <= 20_000 {
                same_as_other_key += u32::from(other.tetra_id(ISSI, id) == new);
                same_as_gssi += u32::from(k.tetra_id(GSSI, id) == new);
            }
        }
        // By chance about 20,000 / 2^24 of them, so none.
        assert!(same_as_other_key < 10, "{same_as_other_key} ids alike");
        assert!(same_as_gssi < 10, "{same_as_gssi} ids alike");
        for id in MAX_ID - 1000..=MAX_ID {
            assert!(in_range(k.tetra_id(GSSI, id)));
        }
        assert_eq!(k.tetra_id(ISSI, 0), 0);
        assert_eq!(k.tetra_id(ISSI, MAX_ID + 1), MAX_ID + 1);
    }

    #[test]
    fn the_network_inverts_and_the_id_sent_to_zero_walks_on() {
        for (k, domain) in [(key(7), ISSI), (key(7), GSSI), (key(9), ISSI)] {
            for x in [0, 1, 4095, 4096, 123_456, MAX_ID] {
                assert_eq!(unpermute(&k, domain, k.permute(domain, x)), x);
            }
            let to_zero = unpermute(&k, domain, 0);
            if to_zero != 0 {
                let new = k.tetra_id(domain, to_zero);
                assert_eq!(new, k.permute(domain, 0));
                assert!(in_range(new));
            }
        }
    }

    #[test]
    fn console_and_room_ids_have_their_forms() {
        let k = key(3);
        let c = k.console_id("noord-01");
        assert_eq!(c.len(), 14);
        assert!(c.starts_with("c-") && c[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(rcload_api::valid_console_id(&c));
        let r = k.room_id("noord");
        assert_eq!(r.len(), 13);
        assert!(r.starts_with("room-") && r[5..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(k.console_id("noord-01"), c);
        assert_ne!(k.console_id("noord-02"), c);
        assert_ne!(key(4).console_id("noord-01"), c);
    }

    #[test]
    fn the_same_key_gives_the_same_files_and_they_load_back() {
        let original = generate(&small());
        let (a, b) = (fleet(&original, &key(5)), fleet(&original, &key(5)));
        assert_eq!(a, b);
        assert_ne!(a, fleet(&original, &key(6)));
        assert_eq!(a.name, "anonymised");
        assert_eq!(a.disciplines, original.disciplines);
        assert!(
            a.talkgroups
                .iter()
                .all(|t| t.name == format!("tg-{}", t.gssi))
        );
        let records = vec![(
            "records.csv".to_string(),
            "time,action,issi\n1.0,status,1000001\n".to_string(),
        )];
        let (da, db) = (temp_dir("a"), temp_dir("b"));
        let wa = write(&a, &records, &da).expect("written");
        let wb = write(&b, &records, &db).expect("written");
        assert_eq!(wa.len(), 5);
        for (pa, pb) in wa.iter().zip(&wb) {
            let (ta, tb) = (std::fs::read(pa).expect("a"), std::fs::read(pb).expect("b"));
            assert_eq!(ta, tb, "{} differs", pa.display());
        }
        let back = super::super::load(&da.join("fleet.yaml")).expect("loads");
        assert_eq!(back, a);
        let _ = std::fs::remove_dir_all(&da);
        let _ = std::fs::remove_dir_all(&db);
    }

    #[test]
    fn monitors_and_homes_still_resolve() {
        let original = generate(&small());
        let k = key(5);
        let anon = fleet(&original, &k);
        let gssis: HashSet<u32> = anon.talkgroups.iter().map(|t| t.gssi).collect();
        assert_eq!(gssis.len(), anon.talkgroups.len());
        for (c, o) in anon.consoles.iter().zip(&original.consoles) {
            assert_eq!(c.room, o.room);
            assert_eq!(c.discipline, o.discipline);
            assert!(c.monitors.iter().all(|g| gssis.contains(g)), "{}", c.id);
        }
        for (t, o) in anon.terminals.iter().zip(&original.terminals) {
            assert!(gssis.contains(&t.home), "{}", t.issi);
            assert_eq!(t.home, k.tetra_id(GSSI, o.home));
            assert_eq!(t.discipline, o.discipline);
        }
        // Every reference still resolves (schedule::population checks the population made
        // from it).
        let gssis: HashSet<u32> = anon.talkgroups.iter().map(|t| t.gssi).collect();
        assert!(anon.terminals.iter().all(|t| gssis.contains(&t.home)));
        assert!(
            anon.consoles
                .iter()
                .all(|c| c.monitors.iter().all(|g| gssis.contains(g)))
        );
    }

    #[test]
    fn records_agree_with_the_fleet() {
        let original = generate(&small());
        let k = key(5);
        let anon = fleet(&original, &k);
        let (t, c, g) = (
            original.terminals[3],
            &original.consoles[2],
            original.talkgroups[1].gssi,
        );
        let text = format!(
            "# recorded\nnote,talkgroup,issi,time,action,console,kind,hold,code\n\
             secret,{g},{},12.250,call,,group,7,\n\
             \"a, b\",,,12:00:01.5,login,{},,,\n\
             x,,{},\"#1\",status,,,,\"3\"\"\"\n",
            t.issi, c.id, t.issi
        );
        let out = records(&text, &k).expect("anonymised");
        let mut back = crate::csv::parse(&out).expect("reads back");
        assert_eq!(back.columns, RECORD_COLUMNS);
        let rows: Vec<crate::csv::Record> = back.by_ref().collect::<Result<_, _>>().expect("rows");
        let f = |r: usize| rows[r].fields.clone();
        let new_t = anon.terminals[3];
        let (issi, gssi) = (new_t.issi.to_string(), anon.talkgroups[1].gssi.to_string());
        assert_eq!(
            f(0),
            [
                "12.250",
                "call",
                issi.as_str(),
                "",
                gssi.as_str(),
                "group",
                "7",
                ""
            ]
        );
        assert_eq!(f(1)[3], anon.consoles[2].id);
        assert_eq!(f(1)[0], "12:00:01.5");
        assert_eq!(f(2)[0], "#1");
        assert_eq!(f(2)[2], new_t.issi.to_string());
        assert_eq!(f(2)[7], "3\"");
        assert!(!out.contains("secret") && !out.contains("a, b"));
        assert_eq!(records(&text, &k), Ok(out));
    }

    #[test]
    fn only_the_columns_present_are_written_and_bad_ids_are_located() {
        let k = key(5);
        let out = records("action,time\nstatus,1\n", &k).expect("anonymised");
        assert_eq!(out, "time,action\n1,status\n");
        assert_eq!(records("time\n\"\"\n", &k), Ok("time\n\"\"\n".to_string()));
        let e = records("time,issi\n1,1000001\n\n2,abc\n", &k).unwrap_err();
        assert_eq!(e.0, 4);
        assert!(e.1.contains("issi") && e.1.contains("abc"), "{}", e.1);
        assert_eq!(records("time,talkgroup\n1,0\n", &k).unwrap_err().0, 2);
        assert_eq!(records("note\nx\n", &k).unwrap_err().0, 1);
        assert_eq!(records("", &k).unwrap_err().0, 1);
    }

    #[test]
    fn a_records_file_may_not_replace_the_fleets() {
        let a = fleet(&generate(&small()), &key(5));
        let dir = temp_dir("names");
        let clash = vec![("in/terminals.csv".to_string(), "time\n1\n".to_string())];
        assert!(write(&a, &clash, &dir).is_err());
        let twice = vec![
            ("a/r.csv".to_string(), "time\n1\n".to_string()),
            ("b/r.csv".to_string(), "time\n2\n".to_string()),
        ];
        assert!(write(&a, &twice, &dir).is_err());
        assert!(write(&a, &[("..".to_string(), String::new())], &dir).is_err());
        assert!(!dir.exists());
        let ok = vec![("../up/r.csv".to_string(), "time\n1\n".to_string())];
        let written = write(&a, &ok, &dir).expect("written");
        assert_eq!(written.last(), Some(&dir.join("r.csv")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
