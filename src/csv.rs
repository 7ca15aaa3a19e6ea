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

/// A file's header, and its records read one at a time as they are asked for (a 100,000-line
/// file costs no more than one record beside its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table<'a> {
    pub columns: Vec<String>,
    /// The lines after the header, with the number of the first.
    body: &'a str,
    first_line: usize,
}

impl Table<'_> {
    /// The index of column `name`, if the header has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// The records, in the file's order; a record that cannot be read is `Err((line,
    /// message))`.
    pub fn records(&self) -> impl Iterator<Item = Result<Record, (usize, String)>> + '_ {
        self.body
            .lines()
            .enumerate()
            .map(|(i, l)| (self.first_line + i, l.trim_end_matches('\r')))
            .filter(|(_, l)| !skipped(l))
            .map(|(line, text)| {
                let f = fields(text).map_err(|e| (line, e))?;
                if f.len() < self.columns.len() {
                    return Err((
                        line,
                        format!(
                            "{} field{} where the header has {} ({})",
                            f.len(),
                            if f.len() == 1 { "" } else { "s" },
                            self.columns.len(),
                            self.columns.join(",")
                        ),
                    ));
                }
                Ok(Record { line, fields: f })
            })
    }
}

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
    let mut rest = text;
    let mut line = 0;
    loop {
        line += 1;
        if rest.is_empty() {
            return Err((1, "the file is empty: a header row is needed".into()));
        }
        let (head, tail) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = tail;
        let head = head.trim_end_matches('\r');
        if skipped(head) {
            continue;
        }
        let columns = fields(head).map_err(|e| (line, e))?;
        return Ok(Table {
            columns,
            body: rest,
            first_line: line + 1,
        });
    }
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
        let r: Vec<Record> = t.records().collect::<Result<_, _>>().expect("records");
        assert_eq!(r[0].line, 4);
        assert_eq!(r[0].fields, ["1000001", "100001", "police"]);
        assert_eq!(r[1].fields, ["2", "a, \"b\"", "x"]);
    }

    #[test]
    fn a_short_line_and_an_open_quote_are_located() {
        let first_error = |text: &str| match parse(text) {
            Err((line, _)) => line,
            Ok(t) => t.records().find_map(|r| r.err()).map_or(0, |e| e.0),
        };
        assert_eq!(first_error("a,b\n1\n"), 2);
        assert_eq!(first_error("a,b\n1,2\n\"3,4\n"), 3);
        assert_eq!(first_error("\n\n"), 1);
        assert_eq!(first_error("# only a comment\n"), 1);
    }
}
