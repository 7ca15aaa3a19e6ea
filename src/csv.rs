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

/// A parsed file: the header's columns and the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub records: Vec<Record>,
}

impl Table {
    /// The index of column `name`, if the header has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
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

/// Parse `text` (a whole file); `Err((line, message))`.
pub fn parse(text: &str) -> Result<Table, (usize, String)> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((hline, header)) = lines.next() else {
        return Err((1, "the file is empty: a header row is needed".into()));
    };
    let columns = fields(header).map_err(|e| (hline, e))?;
    let mut records = Vec::new();
    for (line, text) in lines {
        let f = fields(text).map_err(|e| (line, e))?;
        if f.len() < columns.len() {
            return Err((
                line,
                format!(
                    "{} field{} where the header has {} ({})",
                    f.len(),
                    if f.len() == 1 { "" } else { "s" },
                    columns.len(),
                    columns.join(",")
                ),
            ));
        }
        records.push(Record { line, fields: f });
    }
    Ok(Table { columns, records })
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
        assert_eq!(t.records[0].line, 4);
        assert_eq!(t.records[0].fields, ["1000001", "100001", "police"]);
        assert_eq!(t.records[1].fields, ["2", "a, \"b\"", "x"]);
    }

    #[test]
    fn a_short_line_and_an_open_quote_are_located() {
        assert_eq!(parse("a,b\n1\n").unwrap_err().0, 2);
        assert_eq!(parse("a,b\n1,2\n\"3,4\n").unwrap_err().0, 3);
        assert_eq!(parse("\n\n").unwrap_err().0, 1);
    }
}
