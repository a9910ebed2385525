//! Text helpers of the prompt: macros and example dialogue blocks.

/// Replaces `{{char}}`/`{{user}}` (any letter case) and `<BOT>`/`<USER>`.
pub fn substitute(text: &str, char_name: &str, user_name: &str) -> String {
    if !text.contains(['{', '<']) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (macro_text, value) in [
            ("{{char}}", char_name),
            ("{{user}}", user_name),
            ("<bot>", char_name),
            ("<user>", user_name),
        ] {
            if rest.len() >= macro_text.len()
                && rest.is_char_boundary(macro_text.len())
                && rest[..macro_text.len()].eq_ignore_ascii_case(macro_text)
            {
                out.push_str(value);
                rest = &rest[macro_text.len()..];
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Splits example dialogue into blocks at `<START>` lines; text before the first marker is a
/// block too.
pub fn example_blocks(dialogue: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in dialogue.lines() {
        if line.trim().eq_ignore_ascii_case("<start>") {
            if !current.trim().is_empty() {
                blocks.push(current.trim().to_owned());
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        blocks.push(current.trim().to_owned());
    }
    blocks
}
