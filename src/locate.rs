//! Maps between places in a YAML text (line, column) and field paths (`traffic[0].rate`).
//!
//! serde-saphyr gives the line and column of a parse error; a test engineer also wants the
//! field's name. And checks that span fields (run after parsing) know the field but not the
//! line. This small scanner of block-style YAML (with one level of flow maps) serves both. It
//! is best-effort: it never fails, it only finds less.

use std::fmt;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A field path such as `events[1].at`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }
    pub fn key(mut self, k: &str) -> Self {
        self.0.push(Seg::Key(k.to_string()));
        self
    }
    pub fn index(mut self, i: usize) -> Self {
        self.0.push(Seg::Index(i));
        self
    }

    /// This path followed by `other`.
    pub fn join(mut self, other: &FieldPath) -> Self {
        self.0.extend(other.0.iter().cloned());
        self
    }

    /// Parse a path as [`FieldPath`]'s `Display` writes it: `faults[0].op`,
    /// `service[terminal.register].p99` (a bracket holds an index, or a key with dots).
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let (inner, after) = r.split_once(']').unwrap_or((r, ""));
                segs.push(match inner.parse::<usize>() {
                    Ok(i) => Seg::Index(i),
                    Err(_) => Seg::Key(inner.to_string()),
                });
                rest = after;
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                if end > 0 {
                    segs.push(Seg::Key(rest[..end].to_string()));
                }
                rest = &rest[end..];
            }
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
        FieldPath(segs)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if k.contains('.') => write!(f, "[{k}]")?,
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        if first {
            f.write_str("(top level)")?;
        }
        Ok(())
    }
}

/// A key found in the text: its path and 1-based line and column.
#[derive(Debug, Clone)]
struct Entry {
    path: FieldPath,
    line: usize,
    column: usize,
}

/// The keys of a YAML text with their places.
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    entries: Vec<Entry>,
}

struct Frame {
    indent: usize,
    seg: Seg,
}

fn strip_comment(s: &str) -> &str {
    // A `#` starts a comment when at the start or after white space, outside quotes.
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev_space => return &s[..i],
            None => {}
        }
        prev_space = c.is_whitespace();
    }
    s
}

/// Split `key: rest` at the first `:` followed by space or end, outside quotes.
fn split_key(s: &str) -> Option<(String, &str)> {
    let mut quote: Option<char> = None;
    // Walked without collecting: a line may be megabytes long.
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'') && i == 0 => quote = Some(c),
            None if c == ':' => {
                let next = chars.peek().map(|&(_, c)| c);
                if next.is_none() || next.is_some_and(char::is_whitespace) {
                    let key = s[..i].trim().trim_matches(|c| c == '"' || c == '\'');
                    return Some((key.to_string(), &s[i + 1..]));
                }
            }
            None if c == '{' || c == '[' => return None,
            None => {}
        }
    }
    None
}

/// Record the keys of a one-level flow map `v` (a suffix of `raw`) under `path`.
fn flow_keys(entries: &mut Vec<Entry>, path: &FieldPath, raw: &str, v: &str, line_no: usize) {
    let Some(inner) = v.strip_prefix('{') else {
        return;
    };
    let base = raw.len() - v.len() + 1;
    let mut offset = 0;
    for part in inner.trim_end_matches('}').split(',') {
        if let Some((k, _)) = split_key(part.trim_start()) {
            let lead = part.len() - part.trim_start().len();
            entries.push(Entry {
                path: path.clone().key(&k),
                line: line_no,
                column: base + offset + lead + 1,
            });
        }
        offset += part.len() + 1;
    }
}

impl KeyIndex {
    /// Scan `text` for keys.
    pub fn new(text: &str) -> Self {
        let mut entries = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        for (ln, raw) in text.lines().enumerate() {
            let line_no = ln + 1;
            let body = strip_comment(raw);
            if body.trim().is_empty() || body.trim_start().starts_with("---") {
                continue;
            }
            let mut indent = body.len() - body.trim_start().len();
            let mut rest = body.trim_start();
            // Sequence items, possibly nested (`- - a`).
            while let Some(after) = rest.strip_prefix('-') {
                if !(after.is_empty() || after.starts_with(' ')) {
                    break;
                }
                while stack.last().is_some_and(|f| f.indent > indent) {
                    stack.pop();
                }
                let idx = match stack.last() {
                    Some(Frame {
                        indent: i,
                        seg: Seg::Index(n),
                    }) if *i == indent => {
                        let n = *n;
                        stack.pop();
                        n + 1
                    }
                    _ => 0,
                };
                stack.push(Frame {
                    indent,
                    seg: Seg::Index(idx),
                });
                entries.push(Entry {
                    path: FieldPath(stack.iter().map(|f| f.seg.clone()).collect()),
                    line: line_no,
                    column: indent + 1,
                });
                let trimmed = after.trim_start();
                indent += 1 + (after.len() - trimmed.len());
                rest = trimmed;
            }
            // A flow map as a list item: `- { at: 1s, kind: drop }`.
            if rest.starts_with('{') {
                let path = FieldPath(stack.iter().map(|f| f.seg.clone()).collect());
                flow_keys(&mut entries, &path, raw, rest, line_no);
                continue;
            }
            let Some((key, value)) = split_key(rest) else {
                continue;
            };
            while stack.last().is_some_and(|f| f.indent >= indent) {
                stack.pop();
            }
            stack.push(Frame {
                indent,
                seg: Seg::Key(key),
            });
            let path = FieldPath(stack.iter().map(|f| f.seg.clone()).collect());
            entries.push(Entry {
                path: path.clone(),
                line: line_no,
                column: indent + 1,
            });
            // One level of flow map: `key: { p99: 1s, p95: 300ms }`.
            flow_keys(&mut entries, &path, raw, value.trim_start(), line_no);
        }
        KeyIndex { entries }
    }

    /// Line and column of `path`, or of its longest prefix that is in the text.
    pub fn locate(&self, path: &FieldPath) -> Option<(usize, usize)> {
        let mut p = path.0.clone();
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.path.0 == p) {
                return Some((e.line, e.column));
            }
            p.pop()?;
        }
    }

    /// The key whose text is longest in `text` (the text this index was made of): the lines
    /// from its line to the next line that holds a key, blank and comment lines left out. With
    /// its line, column and length in bytes: what makes an oversized file large. Keys on one
    /// line (a flow map) count as the first of them.
    pub fn largest(&self, text: &str) -> Option<(FieldPath, usize, usize, usize)> {
        let mut sizes = vec![0usize; self.entries.len()];
        let (mut owner, mut next) = (None, 0);
        for (n, line) in text.split('\n').enumerate() {
            if self.entries.get(next).is_some_and(|e| e.line == n + 1) {
                owner = Some(next);
                while self.entries.get(next).is_some_and(|e| e.line == n + 1) {
                    next += 1;
                }
            }
            let body = line.trim();
            if let Some(o) = owner
                && !body.is_empty()
                && !body.starts_with('#')
            {
                sizes[o] += line.len() + 1;
            }
        }
        let mut best: Option<(usize, usize)> = None;
        for (i, size) in sizes.into_iter().enumerate() {
            if best.is_none_or(|(_, b)| size > b) {
                best = Some((i, size));
            }
        }
        best.map(|(i, size)| {
            let e = &self.entries[i];
            (e.path.clone(), e.line, e.column, size)
        })
    }

    /// The path of the key at `line` (1-based) nearest before `column`, if any.
    pub fn path_at(&self, line: usize, column: usize) -> Option<FieldPath> {
        let on_line: Vec<&Entry> = self.entries.iter().filter(|e| e.line == line).collect();
        if on_line.is_empty() {
            return None;
        }
        on_line
            .iter()
            .filter(|e| e.column <= column)
            .max_by_key(|e| e.column)
            .or(on_line.first())
            .map(|e| e.path.clone())
    }
}

/// A problem found by a check: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: FieldPath,
    pub message: String,
    pub hint: Option<String>,
}

pub(super) fn problem(path: FieldPath, message: impl Into<String>, hint: Option<&str>) -> Problem {
    Problem {
        path,
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: x
population:
  control_rooms: 13   # comment
  terminals: 20000
traffic:
  - action: status
    rate: 40/s
  - action: affiliate
    rate: 2/s
events:
- kind: shift_change
  at: 3m
slo:
  console.login: { p99: 1s }
  delivery.emergency.alert: { p95: 300ms, p99: 1s }
";

    #[test]
    fn finds_keys_in_maps_sequences_and_flow_maps() {
        let idx = KeyIndex::new(TEXT);
        let p = FieldPath::root().key("population").key("terminals");
        assert_eq!(idx.locate(&p), Some((4, 3)));
        let p = FieldPath::root().key("traffic").index(1).key("rate");
        assert_eq!(idx.locate(&p), Some((9, 5)));
        let p = FieldPath::root().key("events").index(0).key("at");
        assert_eq!(idx.locate(&p), Some((12, 3)));
        let p = FieldPath::root()
            .key("slo")
            .key("delivery.emergency.alert")
            .key("p99");
        let (line, col) = idx.locate(&p).unwrap();
        assert_eq!(line, 15);
        assert_eq!(&TEXT.lines().nth(14).unwrap()[col - 1..col + 2], "p99");
        // A missing field falls back to its parent.
        let p = FieldPath::root()
            .key("population")
            .key("talkgroups_per_room");
        assert_eq!(idx.locate(&p), Some((2, 1)));
    }

    #[test]
    fn path_at_names_the_key_on_a_line() {
        let idx = KeyIndex::new(TEXT);
        assert_eq!(idx.path_at(7, 11).unwrap().to_string(), "traffic[0].rate");
        assert_eq!(idx.path_at(6, 13).unwrap().to_string(), "traffic[0].action");
        assert_eq!(
            idx.path_at(3, 18).unwrap().to_string(),
            "population.control_rooms"
        );
        assert_eq!(
            idx.path_at(14, 22).unwrap().to_string(),
            "slo[console.login].p99"
        );
        assert!(idx.path_at(99, 1).is_none());
    }

    #[test]
    fn paths_parse_back_from_their_text() {
        for t in [
            "faults[0].op",
            "service[terminal.register].p99",
            "population.terminals",
        ] {
            assert_eq!(FieldPath::parse(t).to_string(), t);
        }
        assert_eq!(
            FieldPath::parse("faults[2]"),
            FieldPath::root().key("faults").index(2)
        );
    }

    #[test]
    fn flow_maps_as_list_items_and_bare_items() {
        let text = "faults:\n  - { at: 1s, kind: drop }\n  - at: 2s\n    kind: stall\n";
        let idx = KeyIndex::new(text);
        let p = FieldPath::root().key("faults").index(0).key("kind");
        assert_eq!(idx.locate(&p), Some((2, 15)));
        // A missing field points at its list item.
        let p = FieldPath::root().key("faults").index(1).key("for");
        assert_eq!(idx.locate(&p), Some((3, 3)));
        assert_eq!(idx.path_at(2, 21).unwrap().to_string(), "faults[0].kind");
    }
}
