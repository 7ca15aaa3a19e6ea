//! `totals.json`: a run's aggregates exactly as its [`Recorder`] holds them (counts, error
//! classes, skips, findings, and every histogram whole, in HdrHistogram's V2 deflate encoding
//! as `latency.hlog` has them), so that the shards of one test (`--shard I/N`) can be added
//! together exactly ([`Recorder::merge`]) and reported as one run. It holds what the summary
//! is built from, not the summary: it knows nothing of report formats.
//!
//! Names (operations, event types, error classes, skip reasons, how a drop was found) are
//! written as in results and read back into the enums they name: an unknown one is an error
//! naming the file and the field, never a figure silently dropped from the sum.

use super::groups::{GroupStats, Groups};
use super::{
    DeliveryStats, DisconnectRecord, DropRecord, MissedCounts, OpStats, ProbeStats, Recorder,
    UnexpectedRecord, histogram,
};
use crate::detect::DetectedBy;
use crate::engine::{Delivery, SkipReason};
use crate::targets::ErrorClass;
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use rcload_api::Op;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The schema id of the format, in every file's `schema` field.
pub const SCHEMA: &str = "rcload.totals/1";
/// The file's name in a run directory.
pub const FILE_NAME: &str = "totals.json";
/// The most read from a totals file: 256 MiB (rcload writes some hundreds of kilobytes: a
/// histogram takes a few hundred bytes, a finding about 150).
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;
/// The counts of one histogram as its header declares them, decoded: 1 MiB (rcload's, 3
/// significant digits, take at most about 520 KB; the limit of `latency.hlog` too).
const MAX_COUNTS_BYTES: usize = 1024 * 1024;
/// The significant digits of one histogram: 4 (rcload writes 3).
const MAX_SIGNIFICANT_DIGITS: u32 = 4;

/// The cookies of HdrHistogram's V2 encoding, plain and compressed.
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// A V2 header: cookie, length of the counts, normalizing offset, significant digits, lowest
/// and highest trackable values, integer-to-double ratio.
const V2_HEADER_BYTES: usize = 40;

/// Why a totals file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum TotalsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a totals file rcload reads (its message names the field).
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot encode the totals: {0}")]
    Encode(String),
}

/// The file: a [`Recorder`]'s fields, names as text and histograms encoded.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TotalsFile {
    schema: String,
    /// The phase whose requests are kept apart from the whole run's figures (the teardown).
    apart: Option<usize>,
    /// By operation name.
    ops: BTreeMap<String, OpTotals>,
    /// By phase index, by operation name.
    phase_ops: Vec<BTreeMap<String, OpTotals>>,
    /// By event type name.
    deliveries: BTreeMap<String, DeliveryTotals>,
    /// By phase index, by event type name.
    phase_deliveries: Vec<BTreeMap<String, DeliveryTotals>>,
    /// Intended to sent, µs.
    lateness: String,
    /// By skip reason name.
    skipped: BTreeMap<String, u64>,
    throttled: u64,
    probes: ProbeTotals,
    drops: Vec<DropTotals>,
    disconnects: Vec<DisconnectTotals>,
    unexpected: Vec<UnexpectedTotals>,
    missed: MissedTotals,
    groups: Option<GroupsTotals>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpTotals {
    count: u64,
    ok: u64,
    /// By error class name.
    errors: BTreeMap<String, u64>,
    /// Intended time to response, µs.
    latency: String,
    /// Sent to response, µs.
    service: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryTotals {
    delivered: u64,
    missed: u64,
    /// From the sending action's intended time to receipt, µs.
    latency: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeTotals {
    calls: OpTotals,
    deliveries: DeliveryTotals,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DropTotals {
    console: u32,
    talkgroup: u32,
    /// How it was found, by name (`announced`, `audit`, `delivery`).
    detected_by: String,
    at_us: u64,
    last_ok_us: u64,
    recovered_after_us: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisconnectTotals {
    console: u32,
    reason: String,
    at_us: u64,
    last_ok_us: u64,
    recovered_after_us: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnexpectedTotals {
    console: u32,
    talkgroup: u32,
    at_us: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MissedTotals {
    total: u64,
    /// By phase index.
    per_phase: BTreeMap<usize, u64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsTotals {
    /// Each console's room (by console index).
    room_of: Vec<u32>,
    /// Each console's discipline (by console index), when it has one.
    discipline_of: Vec<Option<u16>>,
    /// By room index.
    rooms: Vec<GroupTotals>,
    /// By discipline index.
    disciplines: Vec<GroupTotals>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupTotals {
    all: DeliveryTotals,
    /// By event type name.
    by_type: BTreeMap<String, DeliveryTotals>,
}

/// Only the schema id, read first: a file of another format is named as such, not by the
/// first field it lacks.
#[derive(Deserialize)]
struct Head {
    schema: Option<String>,
}

/// `rec` as the JSON of a totals file.
pub fn to_json(rec: &Recorder) -> Result<Vec<u8>, TotalsError> {
    let file = Encoder::new().file(rec)?;
    serde_json::to_vec_pretty(&file).map_err(|e| TotalsError::Encode(e.to_string()))
}

/// Write `rec` to `path` whole or not at all (a temporary file beside it, then a rename).
pub fn write(rec: &Recorder, path: &Path) -> Result<(), TotalsError> {
    let bytes = to_json(rec)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Read the totals file at `path` back into a recorder; a file over [`MAX_BYTES`] is refused
/// unread.
pub fn read(path: &Path) -> Result<Recorder, TotalsError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > MAX_BYTES {
        let message = format!(
            "larger than {} MiB, the most rcload reads from a totals file",
            MAX_BYTES / (1024 * 1024)
        );
        return Err(parse_error(path, message));
    }
    from_json(&bytes, path)
}

/// A recorder from the JSON of a totals file (`path` only names it in errors). Its histograms
/// grow as needed, so that more can be added to them.
pub fn from_json(bytes: &[u8], path: &Path) -> Result<Recorder, TotalsError> {
    let bad = |message: String| parse_error(path, message);
    check_schema(bytes).map_err(bad)?;
    let file: TotalsFile = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not a totals file rcload reads: {e}")))?;
    Decoder::new().recorder(&file).map_err(bad)
}

fn parse_error(path: &Path, message: String) -> TotalsError {
    TotalsError::Parse {
        path: path.to_path_buf(),
        message,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TotalsError {
    let path = path.to_path_buf();
    move |source| TotalsError::Io { path, source }
}

/// The file's schema must be [`SCHEMA`], exactly: a sum over a format read in part would not
/// be exact.
fn check_schema(bytes: &[u8]) -> Result<(), String> {
    let head: Head = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a totals file rcload reads: {e}"))?;
    match head.schema {
        Some(s) if s == SCHEMA => Ok(()),
        Some(s) => Err(format!(
            "schema `{s}`, not `{SCHEMA}`: not a totals file this rcload reads"
        )),
        None => Err(format!("no `schema` field (`{SCHEMA}`): not a totals file")),
    }
}

/// Turns a recorder's figures into the file's, encoding histograms with one reused buffer.
struct Encoder {
    ser: V2DeflateSerializer,
    buf: Vec<u8>,
}

impl Encoder {
    fn new() -> Self {
        Encoder {
            ser: V2DeflateSerializer::new(),
            buf: Vec::new(),
        }
    }

    /// `h` in HdrHistogram's V2 deflate encoding, in base64 (as a line of `latency.hlog`).
    fn hist(&mut self, h: &Histogram<u64>) -> Result<String, TotalsError> {
        self.buf.clear();
        self.ser
            .serialize(h, &mut self.buf)
            .map_err(|e| TotalsError::Encode(format!("a histogram: {e:?}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(&self.buf))
    }

    fn op(&mut self, s: &OpStats) -> Result<OpTotals, TotalsError> {
        Ok(OpTotals {
            count: s.count,
            ok: s.ok,
            errors: names(&s.errors),
            latency: self.hist(&s.latency)?,
            service: self.hist(&s.service)?,
        })
    }

    fn ops(
        &mut self,
        ops: &BTreeMap<Op, OpStats>,
    ) -> Result<BTreeMap<String, OpTotals>, TotalsError> {
        let mut out = BTreeMap::new();
        for (op, s) in ops {
            out.insert(op.name().to_string(), self.op(s)?);
        }
        Ok(out)
    }

    fn delivery(&mut self, d: &DeliveryStats) -> Result<DeliveryTotals, TotalsError> {
        Ok(DeliveryTotals {
            delivered: d.delivered,
            missed: d.missed,
            latency: self.hist(&d.latency)?,
        })
    }

    fn deliveries(
        &mut self,
        deliveries: &BTreeMap<Delivery, DeliveryStats>,
    ) -> Result<BTreeMap<String, DeliveryTotals>, TotalsError> {
        let mut out = BTreeMap::new();
        for (event, d) in deliveries {
            out.insert(event.name().to_string(), self.delivery(d)?);
        }
        Ok(out)
    }

    fn group(&mut self, g: &GroupStats) -> Result<GroupTotals, TotalsError> {
        Ok(GroupTotals {
            all: self.delivery(&g.all)?,
            by_type: self.deliveries(&g.by_type)?,
        })
    }

    fn groups(&mut self, g: &Groups) -> Result<GroupsTotals, TotalsError> {
        Ok(GroupsTotals {
            room_of: g.rooms_of_consoles().to_vec(),
            discipline_of: g.disciplines_of_consoles().to_vec(),
            rooms: g
                .rooms
                .iter()
                .map(|r| self.group(r))
                .collect::<Result<_, _>>()?,
            disciplines: g
                .disciplines
                .iter()
                .map(|d| self.group(d))
                .collect::<Result<_, _>>()?,
        })
    }

    fn file(&mut self, rec: &Recorder) -> Result<TotalsFile, TotalsError> {
        Ok(TotalsFile {
            schema: SCHEMA.to_string(),
            apart: rec.apart(),
            ops: self.ops(&rec.ops)?,
            phase_ops: rec
                .phase_ops
                .iter()
                .map(|p| self.ops(p))
                .collect::<Result<_, _>>()?,
            deliveries: self.deliveries(&rec.deliveries)?,
            phase_deliveries: rec
                .phase_deliveries
                .iter()
                .map(|p| self.deliveries(p))
                .collect::<Result<_, _>>()?,
            lateness: self.hist(&rec.lateness)?,
            skipped: names(&rec.skipped),
            throttled: rec.throttled,
            probes: ProbeTotals {
                calls: self.op(&rec.probes.calls)?,
                deliveries: self.delivery(&rec.probes.deliveries)?,
            },
            drops: rec.drops.iter().map(drop_totals).collect(),
            disconnects: rec.disconnects.iter().map(disconnect_totals).collect(),
            unexpected: rec.unexpected.iter().map(unexpected_totals).collect(),
            missed: MissedTotals {
                total: rec.missed.total,
                per_phase: rec.missed.per_phase.clone(),
            },
            groups: rec.groups.as_ref().map(|g| self.groups(g)).transpose()?,
        })
    }
}

/// Counts by static name, as counts by name.
fn names(counts: &BTreeMap<&'static str, u64>) -> BTreeMap<String, u64> {
    counts.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

fn drop_totals(d: &DropRecord) -> DropTotals {
    DropTotals {
        console: d.console,
        talkgroup: d.talkgroup,
        detected_by: d.detected_by.name().to_string(),
        at_us: d.at_us,
        last_ok_us: d.last_ok_us,
        recovered_after_us: d.recovered_after_us,
    }
}

fn disconnect_totals(d: &DisconnectRecord) -> DisconnectTotals {
    DisconnectTotals {
        console: d.console,
        reason: d.reason.clone(),
        at_us: d.at_us,
        last_ok_us: d.last_ok_us,
        recovered_after_us: d.recovered_after_us,
    }
}

fn unexpected_totals(u: &UnexpectedRecord) -> UnexpectedTotals {
    UnexpectedTotals {
        console: u.console,
        talkgroup: u.talkgroup,
        at_us: u.at_us,
    }
}

/// Turns the file's figures back into a recorder's. Errors are messages naming the field;
/// [`from_json`] adds the file.
struct Decoder {
    de: Deserializer,
}

impl Decoder {
    fn new() -> Self {
        Decoder {
            de: Deserializer::new(),
        }
    }

    fn recorder(&mut self, f: &TotalsFile) -> Result<Recorder, String> {
        let mut rec = Recorder::new(0).with_phase_apart(f.apart);
        rec.ops = self.ops(&f.ops, "ops")?;
        rec.phase_ops = f
            .phase_ops
            .iter()
            .enumerate()
            .map(|(p, ops)| self.ops(ops, &format!("phase_ops[{p}]")))
            .collect::<Result<_, _>>()?;
        rec.deliveries = self.deliveries(&f.deliveries, "deliveries")?;
        rec.phase_deliveries = f
            .phase_deliveries
            .iter()
            .enumerate()
            .map(|(p, d)| self.deliveries(d, &format!("phase_deliveries[{p}]")))
            .collect::<Result<_, _>>()?;
        // Both lists of phases as long as the longer, as a new recorder has them.
        let phases = rec.phase_ops.len().max(rec.phase_deliveries.len());
        rec.phase_ops.resize_with(phases, BTreeMap::new);
        rec.phase_deliveries.resize_with(phases, BTreeMap::new);
        rec.lateness = self.hist(&f.lateness, "lateness")?;
        rec.skipped = static_names(&f.skipped, "skipped", skip_reason)?;
        rec.throttled = f.throttled;
        rec.probes = ProbeStats {
            calls: self.op(&f.probes.calls, "probes.calls")?,
            deliveries: self.delivery(&f.probes.deliveries, "probes.deliveries")?,
        };
        rec.drops = f
            .drops
            .iter()
            .enumerate()
            .map(|(i, d)| drop_record(d, i))
            .collect::<Result<_, _>>()?;
        rec.disconnects = f.disconnects.iter().map(disconnect_record).collect();
        rec.unexpected = f.unexpected.iter().map(unexpected_record).collect();
        rec.missed = MissedCounts {
            total: f.missed.total,
            per_phase: f.missed.per_phase.clone(),
        };
        rec.groups = f.groups.as_ref().map(|g| self.groups(g)).transpose()?;
        Ok(rec)
    }

    /// A histogram of the file, checked before it is decoded, then added into a new one that
    /// grows as needed (a decoded one only holds the range it was written with).
    fn hist(&mut self, b64: &str, field: &str) -> Result<Histogram<u64>, String> {
        let bad = |m: String| format!("`{field}`: {m}");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| bad(format!("bad base64: {e}")))?;
        let plain = plain_v2(&bytes).map_err(|m| bad(format!("bad histogram: {m}")))?;
        let decoded: Histogram<u64> = self
            .de
            .deserialize(&mut plain.as_slice())
            .map_err(|e| bad(format!("bad histogram: {e:?}")))?;
        let mut h = histogram();
        h.add(&decoded)
            .map_err(|e| bad(format!("cannot hold its values: {e:?}")))?;
        Ok(h)
    }

    fn op(&mut self, t: &OpTotals, field: &str) -> Result<OpStats, String> {
        Ok(OpStats {
            count: t.count,
            ok: t.ok,
            errors: static_names(&t.errors, &format!("{field}.errors"), error_class)?,
            latency: self.hist(&t.latency, &format!("{field}.latency"))?,
            service: self.hist(&t.service, &format!("{field}.service"))?,
        })
    }

    fn ops(
        &mut self,
        ops: &BTreeMap<String, OpTotals>,
        field: &str,
    ) -> Result<BTreeMap<Op, OpStats>, String> {
        let mut out = BTreeMap::new();
        for (name, t) in ops {
            let op = Op::from_name(name)
                .ok_or_else(|| format!("`{field}`: unknown operation `{name}`"))?;
            out.insert(op, self.op(t, &format!("{field}.{name}"))?);
        }
        Ok(out)
    }

    fn delivery(&mut self, t: &DeliveryTotals, field: &str) -> Result<DeliveryStats, String> {
        Ok(DeliveryStats {
            delivered: t.delivered,
            missed: t.missed,
            latency: self.hist(&t.latency, &format!("{field}.latency"))?,
        })
    }

    fn deliveries(
        &mut self,
        deliveries: &BTreeMap<String, DeliveryTotals>,
        field: &str,
    ) -> Result<BTreeMap<Delivery, DeliveryStats>, String> {
        let mut out = BTreeMap::new();
        for (name, t) in deliveries {
            let event = Delivery::ALL
                .into_iter()
                .find(|d| d.name() == name)
                .ok_or_else(|| format!("`{field}`: unknown event type `{name}`"))?;
            out.insert(event, self.delivery(t, &format!("{field}.{name}"))?);
        }
        Ok(out)
    }

    fn group(&mut self, t: &GroupTotals, field: &str) -> Result<GroupStats, String> {
        Ok(GroupStats {
            all: self.delivery(&t.all, &format!("{field}.all"))?,
            by_type: self.deliveries(&t.by_type, &format!("{field}.by_type"))?,
        })
    }

    /// The groups, each console's room and discipline checked to be one of them.
    fn groups(&mut self, t: &GroupsTotals) -> Result<Groups, String> {
        let rooms: Vec<GroupStats> = t
            .rooms
            .iter()
            .enumerate()
            .map(|(r, g)| self.group(g, &format!("groups.rooms[{r}]")))
            .collect::<Result<_, _>>()?;
        let disciplines: Vec<GroupStats> = t
            .disciplines
            .iter()
            .enumerate()
            .map(|(d, g)| self.group(g, &format!("groups.disciplines[{d}]")))
            .collect::<Result<_, _>>()?;
        let beyond = |r: &u32| *r as usize >= rooms.len();
        if let Some((c, r)) = t.room_of.iter().enumerate().find(|&(_, r)| beyond(r)) {
            return Err(format!(
                "`groups.room_of[{c}]`: room {r}, and there are {} rooms",
                rooms.len()
            ));
        }
        let beyond = |d: &Option<u16>| d.is_some_and(|d| usize::from(d) >= disciplines.len());
        if let Some(c) = t.discipline_of.iter().position(beyond) {
            return Err(format!(
                "`groups.discipline_of[{c}]`: a discipline beyond the {} there are",
                disciplines.len()
            ));
        }
        Ok(Groups::from_parts(
            t.room_of.clone(),
            t.discipline_of.clone(),
            rooms,
            disciplines,
        ))
    }
}

/// Counts by name, as counts by the static name `known` gives for it (an error for a name it
/// does not know).
fn static_names(
    counts: &BTreeMap<String, u64>,
    field: &str,
    known: fn(&str) -> Option<&'static str>,
) -> Result<BTreeMap<&'static str, u64>, String> {
    let mut out = BTreeMap::new();
    for (name, n) in counts {
        let name = known(name).ok_or_else(|| format!("`{field}`: unknown name `{name}`"))?;
        out.insert(name, *n);
    }
    Ok(out)
}

/// The static name of an error class.
fn error_class(name: &str) -> Option<&'static str> {
    ErrorClass::ALL
        .iter()
        .map(ErrorClass::name)
        .find(|n| *n == name)
}

/// The static name of a skip reason.
fn skip_reason(name: &str) -> Option<&'static str> {
    SkipReason::ALL
        .iter()
        .map(SkipReason::name)
        .find(|n| *n == name)
}

/// How a drop was found, by its name.
fn detected_by(name: &str) -> Option<DetectedBy> {
    let every = [
        DetectedBy::Announced,
        DetectedBy::Audit,
        DetectedBy::Delivery,
    ];
    every.into_iter().find(|d| d.name() == name)
}

/// The `i`-th drop of the file.
fn drop_record(d: &DropTotals, i: usize) -> Result<DropRecord, String> {
    let name = &d.detected_by;
    Ok(DropRecord {
        console: d.console,
        talkgroup: d.talkgroup,
        detected_by: detected_by(name).ok_or_else(|| {
            format!("`drops[{i}].detected_by`: unknown way to find a drop `{name}`")
        })?,
        at_us: d.at_us,
        last_ok_us: d.last_ok_us,
        recovered_after_us: d.recovered_after_us,
    })
}

fn disconnect_record(d: &DisconnectTotals) -> DisconnectRecord {
    DisconnectRecord {
        console: d.console,
        reason: d.reason.clone(),
        at_us: d.at_us,
        last_ok_us: d.last_ok_us,
        recovered_after_us: d.recovered_after_us,
    }
}

fn unexpected_record(u: &UnexpectedTotals) -> UnexpectedRecord {
    UnexpectedRecord {
        console: u.console,
        talkgroup: u.talkgroup,
        at_us: u.at_us,
    }
}

/// The plain V2 encoding of an encoded histogram (inflated when compressed), checked before
/// the library allocates for it (it sizes its buffers from the header, whatever follows):
/// counts of at most [`MAX_COUNTS_BYTES`] and no more than there are, at most
/// [`MAX_SIGNIFICANT_DIGITS`]. Inflates no more than that much.
fn plain_v2(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let plain = match word(bytes, 0) {
        Some(V2_COOKIE) => bytes.to_vec(),
        Some(V2_COMPRESSED_COOKIE) => {
            let declared = word(bytes, 4).ok_or("cut short")? as usize;
            let zlib = bytes.get(8..).unwrap_or_default();
            let zlib = zlib.get(..declared).ok_or_else(|| {
                format!(
                    "declares {declared} bytes of compressed data and holds {}",
                    zlib.len()
                )
            })?;
            inflate(zlib, V2_HEADER_BYTES + MAX_COUNTS_BYTES)?
        }
        _ => return Err("not HdrHistogram's V2 encoding (unknown cookie)".into()),
    };
    check_v2_header(&plain)?;
    Ok(plain)
}

/// Check a plain V2 encoding's header against what follows it and rcload's limits.
fn check_v2_header(plain: &[u8]) -> Result<(), String> {
    if plain.len() < V2_HEADER_BYTES {
        return Err("its header is cut short".into());
    }
    if word(plain, 0) != Some(V2_COOKIE) {
        return Err("not HdrHistogram's V2 encoding (unknown inner cookie)".into());
    }
    let counts = word(plain, 4).unwrap_or(0) as usize;
    let holds = plain.len() - V2_HEADER_BYTES;
    if counts > MAX_COUNTS_BYTES || counts > holds {
        return Err(format!(
            "declares {counts} bytes of counts and holds {holds} (rcload reads at most \
             {MAX_COUNTS_BYTES})"
        ));
    }
    let digits = word(plain, 12).unwrap_or(0);
    if digits > MAX_SIGNIFICANT_DIGITS {
        return Err(format!(
            "declares {digits} significant digits; rcload reads at most \
             {MAX_SIGNIFICANT_DIGITS}"
        ));
    }
    Ok(())
}

/// The big-endian word at byte `at`, if there are four bytes there.
fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(w))
}

/// What the zlib stream `zlib` inflates to, refused when that is more than `max` bytes.
fn inflate(zlib: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(zlib)
        .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot inflate it: {e}"))?;
    if out.len() > max {
        return Err(format!("inflates to more than {max} bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
