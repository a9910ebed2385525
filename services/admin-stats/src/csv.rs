//! Just enough CSV (RFC 4180) for the usage export: fields quoted when they hold a separator,
//! a quote or a line break, quotes doubled, CRLF line ends — and text cells that a spreadsheet
//! would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) defused with a leading `'`.

/// Appends one text field.
pub fn push_text(out: &mut String, value: &str) {
    let defused = value
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    let quoted = defused
        || value.is_empty()
        || value.starts_with(' ')
        || value.ends_with(' ')
        || value.contains([',', '"', '\n', '\r']);
    if !quoted {
        out.push_str(value);
        return;
    }
    out.push('"');
    if defused {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// Appends a row of already formatted cells (`Cell::Text` is escaped, `Cell::Raw` is not).
pub fn push_row(out: &mut String, cells: &[Cell<'_>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Text(s) => push_text(out, s),
            Cell::Raw(s) => out.push_str(s),
        }
    }
    out.push_str("\r\n");
}

pub enum Cell<'a> {
    /// User-controlled text: quoted and defused as needed.
    Text(&'a str),
    /// Numbers and dates we formatted ourselves.
    Raw(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> String {
        let mut out = String::new();
        push_text(&mut out, s);
        out
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(field("alice"), "alice");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "\"\"");
        assert_eq!(field(" padded"), "\" padded\"");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "\"'+1\"");
        assert_eq!(field("@sum"), "\"'@sum\"");
    }

    #[test]
    fn rows_end_with_crlf() {
        let mut out = String::new();
        push_row(&mut out, &[Cell::Raw("1".into()), Cell::Text("a,b")]);
        assert_eq!(out, "1,\"a,b\"\r\n");
    }
}
