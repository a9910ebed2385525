//! Which lorebook entries fire for a conversation, and which of those fit the book's budget.
//!
//! - The scan text is the newest `scan_depth` messages. Plain keys are substrings (case-folded
//!   unless the entry is case-sensitive); `/pattern/flags` keys are regular expressions, run by
//!   the `regex` crate: matching is linear in the text whatever the pattern (no backtracking,
//!   so no pattern can hang a reply), and compiled programs are capped in size — a pattern that
//!   would exceed the cap is refused when the book is saved.
//! - Constant entries always fire; disabled ones never do. A selective entry with secondary
//!   keys fires only if those match too, combined by its `selectiveLogic`.
//! - With recursive scanning, the content of entries that fired is scanned as well, round after
//!   round, until nothing new fires or [`MAX_RECURSION`] rounds have run. An entry fires at most
//!   once, so entries that trigger each other in a circle end after one pass round the circle.
//! - [`fit_budget`] keeps entries by priority (highest first, then lowest insertion order)
//!   while they fit the token budget; the rest are dropped, and the kept ones are returned in
//!   insertion order.

use regex::{Regex, RegexBuilder};

use super::{LoreEntry, Lorebook, SelectiveLogic};

/// Rounds of recursive scanning at most.
pub const MAX_RECURSION: u32 = 8;
/// The compiled size cap of one regex key (bytes of the program); generous for any real key.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// A compiled key.
#[derive(Debug, Clone)]
pub enum Key {
    /// Folded to lower case when the entry is not case-sensitive.
    Plain {
        text: String,
        case_sensitive: bool,
    },
    Regex(Regex),
}

impl Key {
    /// Compiles a key as written in the book. Errors say why in words for a 422.
    pub fn compile(raw: &str, case_sensitive: bool) -> Result<Key, String> {
        if let Some((pattern, flags)) = split_regex(raw) {
            let mut builder = RegexBuilder::new(pattern);
            builder
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .nest_limit(64);
            for flag in flags.chars() {
                match flag {
                    'i' => builder.case_insensitive(true),
                    'm' => builder.multi_line(true),
                    's' => builder.dot_matches_new_line(true),
                    'x' => builder.ignore_whitespace(true),
                    // JavaScript's global, unicode and sticky flags change nothing for a test.
                    'g' | 'u' | 'y' => &mut builder,
                    other => return Err(format!("unknown regular expression flag `{other}`")),
                };
            }
            return builder.build().map(Key::Regex).map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => {
                    "regular expression is too large or too complex".to_owned()
                }
                other => format!("invalid regular expression: {other}"),
            });
        }
        Ok(Key::Plain {
            text: if case_sensitive {
                raw.to_owned()
            } else {
                raw.to_lowercase()
            },
            case_sensitive,
        })
    }

    /// Whether the key occurs in `text` (`lowered` is `text` in lower case).
    fn is_in(&self, text: &str, lowered: &str) -> bool {
        match self {
            Key::Plain { text: key, .. } if key.trim().is_empty() => false,
            Key::Plain {
                text: key,
                case_sensitive: true,
            } => text.contains(key.as_str()),
            Key::Plain { text: key, .. } => lowered.contains(key.as_str()),
            Key::Regex(re) => re.is_match(text),
        }
    }
}

/// `/pattern/flags` → (pattern, flags); anything else is a plain key.
fn split_regex(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix('/')?;
    let end = rest.rfind('/')?;
    let (pattern, flags) = (&rest[..end], &rest[end + 1..]);
    if pattern.is_empty() || !flags.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some((pattern, flags))
}

/// An entry with its keys compiled. Keys that do not compile (an imported book can hold
/// anything) are left out, so they never match — the rest of the entry still works.
#[derive(Debug, Clone)]
struct CompiledEntry {
    keys: Vec<(String, Key)>,
    secondary: Vec<(String, Key)>,
}

/// A book ready to scan: compile once, scan for every reply (the worker caches these).
#[derive(Debug, Clone)]
pub struct CompiledBook {
    pub book: Lorebook,
    entries: Vec<CompiledEntry>,
}

/// One entry that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// Index into the book's entries.
    pub entry: usize,
    /// The key that matched, as written; `None` for a constant entry.
    pub key: Option<String>,
    /// 0 = matched in the messages; n = matched in the content of entries fired in round n.
    pub round: u32,
}

fn compile_all(keys: &[String], case_sensitive: bool) -> Vec<(String, Key)> {
    keys.iter()
        .filter_map(|k| {
            Key::compile(k, case_sensitive)
                .ok()
                .map(|compiled| (k.clone(), compiled))
        })
        .collect()
}

impl CompiledBook {
    pub fn new(book: Lorebook) -> Self {
        let entries = book
            .entries
            .iter()
            .map(|e| CompiledEntry {
                keys: compile_all(&e.keys, e.is_case_sensitive()),
                secondary: compile_all(e.active_secondary_keys(), e.is_case_sensitive()),
            })
            .collect();
        Self { book, entries }
    }

    pub fn entry(&self, index: usize) -> &LoreEntry {
        &self.book.entries[index]
    }

    /// The entries that fire for `messages` (newest first; only the first `scan_depth` are
    /// read), in book order of their firing round.
    pub fn scan(&self, messages_newest_first: &[&str], scan_depth: u32) -> Vec<Fired> {
        let depth = (scan_depth as usize).min(messages_newest_first.len());
        let mut text = String::new();
        for m in messages_newest_first[..depth].iter().rev() {
            text.push_str(m);
            text.push('\n');
        }
        let mut fired: Vec<Fired> = Vec::new();
        let mut done = vec![false; self.entries.len()];
        for (i, entry) in self.book.entries.iter().enumerate() {
            if entry.is_enabled() && entry.is_constant() {
                done[i] = true;
                fired.push(Fired {
                    entry: i,
                    key: None,
                    round: 0,
                });
            }
        }
        let mut round = 0;
        // Fired entries from here on have content not yet scanned (recursive books only).
        let mut unscanned = 0;
        loop {
            let lowered = text.to_lowercase();
            for (i, entry) in self.book.entries.iter().enumerate() {
                if done[i] || !entry.is_enabled() {
                    continue;
                }
                if let Some(key) = self.matches(i, &text, &lowered) {
                    done[i] = true;
                    fired.push(Fired {
                        entry: i,
                        key: Some(key),
                        round,
                    });
                }
            }
            round += 1;
            if !self.book.is_recursive() || round > MAX_RECURSION || unscanned == fired.len() {
                break;
            }
            text = fired[unscanned..]
                .iter()
                .map(|f| self.book.entries[f.entry].content.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            unscanned = fired.len();
        }
        fired
    }

    /// The key that makes entry `i` fire in `text`, if any.
    fn matches(&self, i: usize, text: &str, lowered: &str) -> Option<String> {
        let compiled = &self.entries[i];
        let primary = compiled
            .keys
            .iter()
            .find(|(_, k)| k.is_in(text, lowered))
            .map(|(raw, _)| raw.clone())?;
        if compiled.secondary.is_empty() {
            return Some(primary);
        }
        let hits = compiled
            .secondary
            .iter()
            .filter(|(_, k)| k.is_in(text, lowered))
            .count();
        let all = compiled.secondary.len();
        let passes = match self.book.entries[i].selective_logic() {
            SelectiveLogic::AndAny => hits > 0,
            SelectiveLogic::AndAll => hits == all,
            SelectiveLogic::NotAny => hits == 0,
            SelectiveLogic::NotAll => hits < all,
        };
        passes.then_some(primary)
    }
}

/// A fired entry and its cost in tokens.
pub type Costed = (Fired, usize);

/// Splits `fired` into the entries kept within `budget` tokens and those dropped, given each
/// entry's cost. Highest priority first (ties: lower insertion order first); an entry that does
/// not fit is dropped and smaller ones after it may still fit. Kept entries come back in
/// insertion order, the order they are placed in.
pub fn fit_budget(
    book: &Lorebook,
    fired: Vec<Fired>,
    budget: usize,
    mut cost: impl FnMut(&Fired) -> usize,
) -> (Vec<Costed>, Vec<Costed>) {
    let mut ranked: Vec<Costed> = fired
        .into_iter()
        .map(|f| {
            let c = cost(&f);
            (f, c)
        })
        .collect();
    let entry = |f: &Fired| &book.entries[f.entry];
    ranked.sort_by(|(a, _), (b, _)| {
        entry(b)
            .priority()
            .total_cmp(&entry(a).priority())
            .then(
                entry(a)
                    .insertion_order()
                    .total_cmp(&entry(b).insertion_order()),
            )
            .then(a.entry.cmp(&b.entry))
    });
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    let mut used = 0usize;
    for (f, c) in ranked {
        if used + c <= budget {
            used += c;
            kept.push((f, c));
        } else {
            dropped.push((f, c));
        }
    }
    kept.sort_by(|(a, _), (b, _)| {
        entry(a)
            .insertion_order()
            .total_cmp(&entry(b).insertion_order())
            .then(a.entry.cmp(&b.entry))
    });
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn book(value: serde_json::Value) -> CompiledBook {
        CompiledBook::new(serde_json::from_value(value).unwrap())
    }

    fn fired_keys(b: &CompiledBook, messages: &[&str], depth: u32) -> Vec<(usize, Option<String>)> {
        b.scan(messages, depth)
            .into_iter()
            .map(|f| (f.entry, f.key))
            .collect()
    }

    #[test]
    fn keys_match_substrings_case_folded_unless_case_sensitive() {
        let b = book(json!({"entries": [
            {"keys": ["Dragon"], "content": "dragons breathe fire"},
            {"keys": ["Elf"], "content": "elves", "case_sensitive": true},
            {"keys": ["서울"], "content": "수도"},
        ]}));
        assert_eq!(
            fired_keys(&b, &["a DRAGON and an elf in 서울역"], 2),
            vec![(0, Some("Dragon".into())), (2, Some("서울".into()))]
        );
        assert_eq!(fired_keys(&b, &["Elf"], 2), vec![(1, Some("Elf".into()))]);
    }

    #[test]
    fn only_the_newest_scan_depth_messages_are_read() {
        let b = book(json!({"entries": [{"keys": ["castle"], "content": "c"}]}));
        let newest_first = ["hi", "how are you", "the castle"];
        assert!(fired_keys(&b, &newest_first, 2).is_empty());
        assert_eq!(fired_keys(&b, &newest_first, 3).len(), 1);
        assert!(fired_keys(&b, &newest_first, 0).is_empty());
    }

    #[test]
    fn constant_fires_disabled_never() {
        let b = book(json!({"entries": [
            {"keys": [], "content": "always", "constant": true},
            {"keys": ["x"], "content": "off", "enabled": false},
            {"keys": [], "content": "off too", "constant": true, "enabled": false},
        ]}));
        assert_eq!(fired_keys(&b, &["x"], 2), vec![(0, None)]);
    }

    #[test]
    fn selective_logic_combines_secondary_keys() {
        let entry = |logic: u64| {
            json!({"keys": ["sword"], "secondary_keys": ["fire", "ice"], "selective": true,
                   "content": "c", "extensions": {"selectiveLogic": logic}})
        };
        let b = book(json!({"entries": [entry(0), entry(1), entry(2), entry(3)]}));
        let hits =
            |text: &str| -> Vec<usize> { b.scan(&[text], 1).iter().map(|f| f.entry).collect() };
        assert_eq!(hits("a sword"), vec![1, 2], "none of the secondary keys");
        assert_eq!(hits("a fire sword"), vec![0, 1], "one of them");
        assert_eq!(hits("a fire and ice sword"), vec![0, 3], "all of them");
        assert!(hits("fire and ice").is_empty(), "no primary key");
        // Not selective: secondary keys are ignored.
        let plain = book(
            json!({"entries": [{"keys": ["sword"], "secondary_keys": ["fire"], "content": "c"}]}),
        );
        assert_eq!(plain.scan(&["sword"], 1).len(), 1);
    }

    #[test]
    fn regex_keys_with_flags() {
        let b = book(json!({"entries": [
            {"keys": ["/\\bking(dom)?\\b/i"], "content": "k"},
            {"keys": ["/^안녕/m"], "content": "greeting"},
        ]}));
        assert_eq!(
            fired_keys(&b, &["The KINGDOM falls"], 1),
            vec![(0, Some("/\\bking(dom)?\\b/i".into()))]
        );
        assert!(
            fired_keys(&b, &["thinking"], 1).is_empty(),
            "word boundaries hold"
        );
        assert_eq!(fired_keys(&b, &["음\n안녕하세요"], 1).len(), 1);
    }

    #[test]
    fn invalid_and_oversized_regexes_are_refused_on_save() {
        for bad in ["/(unclosed/", "/a/q", "/(?<n>a)\\k<n>/"] {
            let b: Lorebook =
                serde_json::from_value(json!({"entries": [{"keys": [bad], "content": "c"}]}))
                    .unwrap();
            let err = b.validate().unwrap_err();
            assert_eq!(err.field, "entries[0].keys[0]", "{bad}");
        }
        let huge = format!("/{}/", "(a{1,1000}){1,1000}");
        let b: Lorebook =
            serde_json::from_value(json!({"entries": [{"keys": [huge], "content": "c"}]})).unwrap();
        assert!(b.validate().unwrap_err().message.contains("too large"));
        // A catastrophic pattern for backtracking engines is linear here.
        let b = book(json!({"entries": [{"keys": ["/(a+)+$/"], "content": "c"}]}));
        let text = format!("{}!", "a".repeat(100_000));
        let started = std::time::Instant::now();
        assert!(
            fired_keys(&b, &[&text], 1).is_empty(),
            "no match, found without backtracking"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // An imported book with a broken key: that key never matches, the others do.
        let b = book(json!({"entries": [{"keys": ["/(/", "ok"], "content": "c"}]}));
        assert_eq!(fired_keys(&b, &["(ok"], 1), vec![(0, Some("ok".into()))]);
    }

    #[test]
    fn recursion_follows_content_and_ends_on_cycles() {
        let entries = json!([
            {"keys": ["alpha"], "content": "see beta"},
            {"keys": ["beta"], "content": "see gamma"},
            {"keys": ["gamma"], "content": "see alpha"},
            {"keys": ["delta"], "content": "never"},
        ]);
        let flat = book(json!({"entries": entries.clone()}));
        assert_eq!(
            flat.scan(&["alpha"], 1).len(),
            1,
            "no recursion unless asked"
        );
        let rec = book(json!({"recursive_scanning": true, "entries": entries}));
        let fired = rec.scan(&["alpha"], 1);
        let got: Vec<(usize, u32)> = fired.iter().map(|f| (f.entry, f.round)).collect();
        assert_eq!(
            got,
            vec![(0, 0), (1, 1), (2, 2)],
            "the circle closes without firing twice"
        );
        // A long chain stops at the recursion cap.
        let chain: Vec<_> = (0..20)
            .map(|i| json!({"keys": [format!("k{i}")], "content": format!("k{}", i + 1)}))
            .collect();
        let long = book(json!({"recursive_scanning": true, "entries": chain}));
        assert_eq!(long.scan(&["k0"], 1).len(), MAX_RECURSION as usize + 1);
    }

    #[test]
    fn budget_drops_lowest_priority_first_and_keeps_insertion_order() {
        let b = book(json!({"entries": [
            {"keys": ["a"], "content": "A", "priority": 10, "insertion_order": 3},
            {"keys": ["a"], "content": "B", "priority": 1, "insertion_order": 1},
            {"keys": ["a"], "content": "C", "priority": 5, "insertion_order": 2},
        ]}));
        let fired = b.scan(&["a"], 1);
        let (kept, dropped) = fit_budget(&b.book, fired, 20, |_| 10);
        let kept: Vec<usize> = kept.iter().map(|(f, _)| f.entry).collect();
        let dropped: Vec<usize> = dropped.iter().map(|(f, _)| f.entry).collect();
        assert_eq!(
            kept,
            vec![2, 0],
            "priority 10 and 5 kept, placed by insertion order"
        );
        assert_eq!(dropped, vec![1]);
        let (kept, dropped) = fit_budget(&b.book, b.scan(&["a"], 1), 0, |_| 10);
        assert!(kept.is_empty());
        assert_eq!(dropped.len(), 3);
    }
}
