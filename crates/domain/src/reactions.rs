//! Reactions on messages (issue 19): what a reaction key may be, and how a message view shows
//! them.

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use crate::ValidationError;

/// The most distinct reactions one message may carry: a bound on the row count per message and
/// on what every message view carries (Discord uses 20).
pub const MAX_DISTINCT_REACTIONS: usize = 20;

/// A reaction: one emoji (a single grapheme cluster, so a flag, a skin-toned hand or a family
/// ZWJ sequence is one reaction) or a short `:name:` for custom emoji.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ReactionKey(String);

impl ReactionKey {
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                field,
                "must be one emoji or a :name: of 1 to 32 letters, digits, _ or -",
            )
        };
        if let Some(name) = value.strip_prefix(':').and_then(|v| v.strip_suffix(':')) {
            let ok = (1..=32).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '+');
            return if ok {
                Ok(Self(value.to_ascii_lowercase()))
            } else {
                Err(invalid())
            };
        }
        // The longest real sequences (family ZWJ sequences with skin tones) are under 40 bytes.
        if value.is_empty() || value.len() > 64 || value.graphemes(true).count() != 1 {
            return Err(invalid());
        }
        if !is_emoji_cluster(value) {
            return Err(invalid());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Whether a single grapheme cluster is an emoji: it starts with a pictographic code point, is
/// a regional-indicator pair (a flag) or a keycap (`1️⃣`). Plain letters, digits and CJK —
/// Hangul included — are not reactions.
fn is_emoji_cluster(cluster: &str) -> bool {
    let mut chars = cluster.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let cp = first as u32;
    let keycap = cluster.ends_with('\u{20E3}');
    keycap
        || (0x1F1E6..=0x1F1FF).contains(&cp) // regional indicators (flags)
        || (0x1F000..=0x1FAFF).contains(&cp) // pictographs, emoticons, transport, symbols
        || (0x2600..=0x27BF).contains(&cp) // miscellaneous symbols and dingbats
        || (0x2B00..=0x2BFF).contains(&cp) // arrows and stars (⭐, ⬆)
        || (0x2190..=0x21FF).contains(&cp)
        || (0x2300..=0x23FF).contains(&cp) // ⌚, ⏰
        || matches!(cp, 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

/// One reaction on a message, aggregated: the key, how many people chose it, and whether the
/// viewer is one of them (always false in events, which every member shares: clients tell
/// their own reactions from the events' `user_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionCount {
    pub emoji: String,
    pub count: u32,
    pub mine: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_or_a_short_name_is_a_reaction() {
        for ok in [
            "👍",
            "❤️",
            "👍🏽",
            "🇰🇷",
            "👨‍👩‍👧‍👦",
            "1️⃣",
            "⭐",
            ":party_parrot:",
            ":+1:",
        ] {
            assert!(
                ReactionKey::parse("emoji", ok).is_ok(),
                "{ok} is a reaction"
            );
        }
        assert_eq!(
            ReactionKey::parse("emoji", ":Tada:").unwrap().as_str(),
            ":tada:"
        );
    }

    #[test]
    fn text_two_emoji_and_long_names_are_not() {
        for bad in [
            "",
            "a",
            "좋아",
            "가",
            "👍👍",
            "ok",
            "::",
            ":a b:",
            " 👍",
            ":this_name_is_far_too_long_to_be_an_emoji_name:",
        ] {
            let e = ReactionKey::parse("emoji", bad).unwrap_err();
            assert_eq!(e.field, "emoji", "{bad:?} refused");
        }
    }
}
