//! A small reader of the fleet's CSV files: a header row naming the columns (in any order;
//! other columns are ignored), then one record per line. A field may be quoted (`"a, b"`,
//! `""` for a quote); blank lines and lines starting with `#` are skipped. Line numbers are
//! the file's, for messages.

/// One record: its line number and its fields in the header's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// A CSV text read a line at a time: its header, then its records as they are asked for (a
/// 100,000-line file costs no more than one line and one record at a time).
#[derive(Debug)]
pub struct Reader<R> {
    pub columns: Vec<String>,
    lines: R,
    /// The number of the line read last.
    line: usize,
    buf: String,
}

impl<R: std::io::BufRead> Reader<R> {
    /// The header of `lines`; `Err((line, message))`.
    pub fn new(mut lines: R) -> Result<Self, (usize, String)> {
        let mut buf = String::new();
        let mut line = 0;
        loop {
            buf.clear();
            line += 1;
            match lines.read_line(&mut buf) {
                Ok(0) => return Err((1, "the file is empty: a header row is needed".into())),
                Ok(_) => {}
                Err(e) => return Err((line, e.to_string())),
            }
            let head = buf.trim_end_matches(['\r', '\n']);
            if skipped(head) {
                continue;
            }
            let columns = fields(head).map_err(|e| (line, e))?;
            return Ok(Reader {
                columns,
                lines,
                line,
                buf,
            });
        }
    }

    /// The index of column `name`, if the header has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}

impl<R: std::io::BufRead> Iterator for Reader<R> {
    /// A record, or why it cannot be read (`(line, message)`).
    type Item = Result<Record, (usize, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line += 1;
            match self.lines.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err((self.line, e.to_string()))),
            }
            let text = self.buf.trim_end_matches(['\r', '\n']);
            if skipped(text) {
                continue;
            }
            let line = self.line;
            let f = match fields(text) {
                Ok(f) => f,
                Err(e) => return Some(Err((line, e))),
            };
            if f.len() < self.columns.len() {
                return Some(Err((
                    line,
                    format!(
                        "{} field{} where the header has {} ({})",
                        f.len(),
                        if f.len() == 1 { "" } else { "s" },
                        self.columns.len(),
                        self.columns.join(",")
                    ),
                )));
            }
            return Some(Ok(Record { line, fields: f }));
        }
    }
}

/// A text held whole, read as [`Reader`] does.
pub type Table<'a> = Reader<&'a [u8]>;

/// A blank line or a comment.
fn skipped(line: &str) -> bool {
    line.trim().is_empty() || line.trim_start().starts_with('#')
}

/// Split one line into fields; `Err` names what is wrong.
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') if cur.trim().is_empty() && !was_quoted => {
                cur.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                out.push(if was_quoted {
                    std::mem::take(&mut cur)
                } else {
                    std::mem::take(&mut cur).trim().to_string()
                });
                was_quoted = false;
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    out.push(if was_quoted {
        cur
    } else {
        cur.trim().to_string()
    });
    Ok(out)
}

/// The header of `text` (a whole file) and its records to read; `Err((line, message))`.
pub fn parse(text: &str) -> Result<Table<'_>, (usize, String)> {
    Reader::new(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_may_be_quoted_and_lines_are_the_files() {
        let t = parse("# a fleet\nissi,home, discipline\n\n1000001, 100001 ,police\n\"2\",\"a, \"\"b\"\"\",x\n")
            .expect("parses");
        assert_eq!(t.columns, ["issi", "home", "discipline"]);
        assert_eq!(t.column("DISCIPLINE"), Some(2));
        let r: Vec<Record> = t.collect::<Result<_, _>>().expect("records");
        assert_eq!(r[0].line, 4);
        assert_eq!(r[0].fields, ["1000001", "100001", "police"]);
        assert_eq!(r[1].fields, ["2", "a, \"b\"", "x"]);
    }

    #[test]
    fn a_short_line_and_an_open_quote_are_located() {
        let first_error = |text: &str| match parse(text) {
            Err((line, _)) => line,
            Ok(mut t) => t.find_map(|r| r.err()).map_or(0, |e| e.0),
        };
        assert_eq!(first_error("a,b\n1\n"), 2);
        assert_eq!(first_error("a,b\n1,2\n\"3,4\n"), 3);
        assert_eq!(first_error("\n\n"), 1);
        assert_eq!(first_error("# only a comment\n"), 1);
    }
}
