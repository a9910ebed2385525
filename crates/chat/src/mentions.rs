//! @mentions of people (issue 19). `@username` resolves to a member of the conversation and is
//! stored with the message as an id; `@everyone` / `@here` address the whole room and are only
//! an owner's or admin's to use (from anyone else the text stays, with no mention). A mention
//! across a block, of a non-member or of oneself is dropped silently: the text is kept, nobody
//! is notified, and the sender learns nothing about who blocked whom.

use db::conversations::ConversationRow;
use domain::{MemberRole, UserId, ValidationError};

use crate::error::ChatError;

/// The most people one message may mention: beyond it a message is a mention flood (422).
pub const MAX_MENTIONS: usize = 20;
/// How many `@name` tokens are looked up at most; the rest of a long message is text.
const MAX_TOKENS: usize = 100;

/// What the text of a message addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Distinct lower-cased usernames after `@`, in order of appearance.
    pub names: Vec<String>,
    /// `@everyone` or `@here` appeared.
    pub everyone: bool,
}

/// Finds `@name` tokens: an `@` at the start or after a character that is not part of a name
/// (so `me@example.com` mentions no one), then username characters; trailing `.`/`-` are
/// punctuation ("thanks @bob.").
pub fn parse(content: &str) -> Parsed {
    let mut out = Parsed::default();
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut prev: Option<char> = None;
    let mut chars = content.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let starts = c == '@' && prev.is_none_or(|p| !(name_char(p) || p == '@'));
        prev = Some(c);
        if !starts {
            continue;
        }
        let rest = &content[at + 1..];
        let len = rest.find(|ch: char| !name_char(ch)).unwrap_or(rest.len());
        let name = rest[..len].trim_end_matches(['.', '-']);
        if name.is_empty() {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if lower == "everyone" || lower == "here" {
            out.everyone = true;
        } else if (3..=32).contains(&lower.len())
            && out.names.len() < MAX_TOKENS
            && !out.names.contains(&lower)
        {
            out.names.push(lower);
        }
        while chars.peek().is_some_and(|(i, _)| *i < at + 1 + len) {
            prev = chars.next().map(|(_, c)| c);
        }
    }
    out
}

/// The people a message by `sender` (holding `role`) in `conversation` mentions, and whether
/// it addresses everyone; 422 past [`MAX_MENTIONS`].
pub(crate) fn resolve(
    c: &mut db::DbConn,
    conversation: &ConversationRow,
    sender: UserId,
    role: MemberRole,
    content: &str,
) -> Result<(Vec<UserId>, bool), db::DbError> {
    let parsed = parse(content);
    let everyone = parsed.everyone && role.can_manage();
    let mut users = Vec::new();
    for (user, _) in db::mentions::users_named(c, &parsed.names)? {
        if user == sender || users.contains(&user) {
            continue;
        }
        if crate::access::find_member_conversation(c, conversation.id, user)?.is_none() {
            continue;
        }
        if db::blocks::is_blocked_either_way(c, sender, user)? {
            continue;
        }
        users.push(user);
    }
    users.sort_unstable();
    Ok((users, everyone))
}

/// [`resolve`] with the flood rule applied.
pub(crate) fn checked(resolved: (Vec<UserId>, bool)) -> Result<(Vec<UserId>, bool), ChatError> {
    if resolved.0.len() > MAX_MENTIONS {
        let mut e = ValidationError::new(
            "content",
            format!("may mention at most {MAX_MENTIONS} people"),
        );
        e.limit = Some(MAX_MENTIONS as u64);
        return Err(e.into());
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_after_at_are_mentions_and_emails_are_not() {
        let p = parse("@Bob 안녕! cc @carol_1, mail me@example.com, thanks @dave.");
        assert_eq!(p.names, vec!["bob", "carol_1", "dave"]);
        assert!(!p.everyone);
    }

    #[test]
    fn everyone_and_here_are_flags_and_repeats_count_once() {
        let p = parse("@everyone @here @bob @BOB @@x @a");
        assert!(p.everyone);
        assert_eq!(p.names, vec!["bob"], "@a is too short to be a username");
    }

    #[test]
    fn hangul_right_before_the_at_sign_still_starts_a_mention() {
        assert_eq!(parse("여기@bob 보세요").names, vec!["bob"]);
    }
}
