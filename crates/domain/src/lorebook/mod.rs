//! Lorebooks (world info): the Character Card V2 `character_book`, kept losslessly, and the rules
//! that decide which entries a prompt gets ([`matcher`]).
//!
//! Every V2 field is an `Option` and unknown fields are kept in `extra`, so a card imported and
//! exported again carries its book unchanged (a field the card left out is not added, numbers
//! keep their form). SillyTavern's additions live in each entry's `extensions` and are read
//! where the V2 spec is silent: `position` 4 with `depth` (and `role`) puts an entry at a depth
//! in the history, `selectiveLogic` (0 AND ANY, 1 NOT ALL, 2 NOT ANY, 3 AND ALL) combines the
//! secondary keys.

pub mod matcher;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::ValidationError;

/// Limits on what one book may hold: a prompt is built from it for every reply.
pub const MAX_ENTRIES: usize = 1_000;
pub const MAX_KEYS: usize = 64;
pub const MAX_KEY_CHARS: usize = 500;
pub const MAX_CONTENT_CHARS: usize = 20_000;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_SCAN_DEPTH: u32 = 1_000;
pub const MAX_TOKEN_BUDGET: u32 = 1_000_000;

/// A Character Card V2 `character_book`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lorebook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Messages scanned for keys (newest first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub scan_depth: Option<Number>,
    /// Tokens the book's entries may take in a prompt; the lowest-priority entries are dropped
    /// past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub token_budget: Option<Number>,
    /// When true, the content of entries that fired is scanned too, so they can trigger others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive_scanning: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub extensions: Option<Map<String, Value>>,
    #[serde(default)]
    pub entries: Vec<LoreEntry>,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extra: Map<String, Value>,
}

/// One entry of a [`Lorebook`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoreEntry {
    /// Plain keys match as case-(in)sensitive substrings; `/pattern/flags` is a regular
    /// expression (flags `i`, `m`, `s`, `x`, `u`, `g`).
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub extensions: Option<Map<String, Value>>,
    /// Absent = enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Lower is inserted higher (earlier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub insertion_order: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lower priorities are dropped first when the budget is exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub priority: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// With secondary keys: the entry fires only when they match too (see `selectiveLogic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selective: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_keys: Option<Vec<String>>,
    /// Always inserted, keys or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<bool>,
    /// `before_char` or `after_char`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extra: Map<String, Value>,
}

/// Where an entry goes in the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "at", content = "depth")]
pub enum Position {
    /// In the system prompt, before the card.
    BeforeChar,
    /// In the system prompt, after the card.
    AfterChar,
    /// A system message this many messages from the end of the history (0 = after the last).
    Depth(u32),
}

/// How secondary keys combine with the primary match (SillyTavern's `selectiveLogic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectiveLogic {
    AndAny,
    NotAll,
    NotAny,
    AndAll,
}

fn number_f64(n: Option<&Number>) -> f64 {
    n.and_then(Number::as_f64).unwrap_or(0.0)
}

fn ext<'a>(entry: &'a LoreEntry, key: &str) -> Option<&'a Value> {
    entry.extensions.as_ref().and_then(|e| e.get(key))
}

impl LoreEntry {
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    pub fn is_constant(&self) -> bool {
        self.constant.unwrap_or(false)
    }

    pub fn is_case_sensitive(&self) -> bool {
        self.case_sensitive.unwrap_or(false)
    }

    pub fn insertion_order(&self) -> f64 {
        number_f64(self.insertion_order.as_ref())
    }

    pub fn priority(&self) -> f64 {
        number_f64(self.priority.as_ref())
    }

    /// The V2 `position`, or SillyTavern's depth placement when its extensions say so.
    pub fn placement(&self) -> Position {
        if ext(self, "position").and_then(Value::as_u64) == Some(4) {
            let depth = ext(self, "depth").and_then(Value::as_u64).unwrap_or(4);
            return Position::Depth(u32::try_from(depth).unwrap_or(u32::MAX).min(MAX_SCAN_DEPTH));
        }
        match self.position.as_deref() {
            Some("after_char") => Position::AfterChar,
            _ => Position::BeforeChar,
        }
    }

    pub fn selective_logic(&self) -> SelectiveLogic {
        match ext(self, "selectiveLogic").and_then(Value::as_u64) {
            Some(1) => SelectiveLogic::NotAll,
            Some(2) => SelectiveLogic::NotAny,
            Some(3) => SelectiveLogic::AndAll,
            _ => SelectiveLogic::AndAny,
        }
    }

    /// The secondary keys that apply: only for selective entries.
    pub fn active_secondary_keys(&self) -> &[String] {
        match (&self.selective, &self.secondary_keys) {
            (Some(true), Some(keys)) => keys,
            _ => &[],
        }
    }

    /// A label for reports and the editor: name, else comment, else the first key.
    pub fn label(&self) -> String {
        self.name
            .as_deref()
            .or(self.comment.as_deref())
            .filter(|s| !s.trim().is_empty())
            .or(self.keys.first().map(String::as_str))
            .unwrap_or("")
            .to_owned()
    }
}

impl Lorebook {
    /// The scan depth, or `default` when the book names none (or a nonsensical one).
    pub fn scan_depth_or(&self, default: u32) -> u32 {
        match self.scan_depth.as_ref().and_then(Number::as_u64) {
            Some(n) => u32::try_from(n)
                .unwrap_or(MAX_SCAN_DEPTH)
                .min(MAX_SCAN_DEPTH),
            None => default,
        }
    }

    /// The token budget, or `default` when the book names none. Zero (some exporters write it
    /// for "unset") also means the default: a book that may insert nothing is never what was
    /// meant.
    pub fn token_budget_or(&self, default: u32) -> u32 {
        match self.token_budget.as_ref().and_then(Number::as_u64) {
            Some(0) | None => default,
            Some(n) => u32::try_from(n)
                .unwrap_or(MAX_TOKEN_BUDGET)
                .min(MAX_TOKEN_BUDGET),
        }
    }

    pub fn is_recursive(&self) -> bool {
        self.recursive_scanning.unwrap_or(false)
    }

    /// Checks what the user saved: sizes, numbers in range and every regex key compiles within
    /// the size limits. Field names point into the body (`entries[3].keys[0]`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(ValidationError {
                limit: Some(MAX_ENTRIES as u64),
                ..ValidationError::new("entries", format!("at most {MAX_ENTRIES} entries"))
            });
        }
        if let Some(name) = &self.name {
            if name.chars().count() > MAX_NAME_CHARS {
                return Err(ValidationError::too_long("name", MAX_NAME_CHARS));
            }
        }
        if let Some(n) = &self.scan_depth {
            if n.as_u64().is_none_or(|n| n > u64::from(MAX_SCAN_DEPTH)) {
                return Err(ValidationError {
                    limit: Some(u64::from(MAX_SCAN_DEPTH)),
                    ..ValidationError::new(
                        "scan_depth",
                        format!("must be a whole number from 0 to {MAX_SCAN_DEPTH}"),
                    )
                });
            }
        }
        if let Some(n) = &self.token_budget {
            if n.as_u64()
                .is_none_or(|n| n < 1 || n > u64::from(MAX_TOKEN_BUDGET))
            {
                return Err(ValidationError {
                    limit: Some(u64::from(MAX_TOKEN_BUDGET)),
                    ..ValidationError::new(
                        "token_budget",
                        format!("must be a whole number from 1 to {MAX_TOKEN_BUDGET}"),
                    )
                });
            }
        }
        for (i, entry) in self.entries.iter().enumerate() {
            if entry.content.chars().count() > MAX_CONTENT_CHARS {
                return Err(ValidationError::too_long(
                    format!("entries[{i}].content"),
                    MAX_CONTENT_CHARS,
                ));
            }
            let secondary = entry.secondary_keys.as_deref().unwrap_or(&[]);
            for (list, keys) in [
                ("keys", entry.keys.as_slice()),
                ("secondary_keys", secondary),
            ] {
                if keys.len() > MAX_KEYS {
                    return Err(ValidationError {
                        limit: Some(MAX_KEYS as u64),
                        ..ValidationError::new(
                            format!("entries[{i}].{list}"),
                            format!("at most {MAX_KEYS} keys"),
                        )
                    });
                }
                for (k, key) in keys.iter().enumerate() {
                    let field = format!("entries[{i}].{list}[{k}]");
                    if key.chars().count() > MAX_KEY_CHARS {
                        return Err(ValidationError::too_long(field, MAX_KEY_CHARS));
                    }
                    matcher::Key::compile(key, entry.is_case_sensitive())
                        .map_err(|why| ValidationError::new(field, why))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    /// A book with every V2 field, SillyTavern's extensions and fields no spec names: parsed
    /// and written back, it is the same JSON.
    #[test]
    fn a_v2_book_round_trips_unchanged() {
        let original = json!({
            "name": "Eldoria",
            "description": "The world",
            "scan_depth": 3,
            "token_budget": 512,
            "recursive_scanning": true,
            "extensions": {"world": "eldoria"},
            "entries": [
                {
                    "keys": ["castle", "/tow(er|n)/i"],
                    "content": "The castle of {{char}} stands on a hill.",
                    "extensions": {"position": 4, "depth": 2, "selectiveLogic": 3, "probability": 100},
                    "enabled": true,
                    "insertion_order": 100,
                    "case_sensitive": false,
                    "name": "Castle",
                    "priority": 10,
                    "id": 0,
                    "comment": "main",
                    "selective": true,
                    "secondary_keys": ["night"],
                    "constant": false,
                    "position": "after_char",
                    "vendor_field": [1, 2.5]
                },
                {"keys": ["서울"], "content": "한국의 수도", "insertion_order": 2.5, "extensions": {}}
            ],
            "unknown_top": {"kept": true}
        });
        let book: Lorebook = serde_json::from_value(original.clone()).unwrap();
        assert_eq!(serde_json::to_value(&book).unwrap(), original);
        book.validate().unwrap();
        let castle = &book.entries[0];
        assert_eq!(castle.placement(), Position::Depth(2));
        assert_eq!(castle.selective_logic(), SelectiveLogic::AndAll);
        assert_eq!(book.entries[1].placement(), Position::BeforeChar);
        assert_eq!(book.entries[1].insertion_order(), 2.5);
        assert_eq!((book.scan_depth_or(2), book.token_budget_or(9)), (3, 512));
    }

    #[test]
    fn budgets_of_zero_or_nonsense_are_refused_on_save_and_defaulted_on_import() {
        let zero: Lorebook =
            serde_json::from_value(json!({"token_budget": 0, "entries": []})).unwrap();
        assert_eq!(zero.validate().unwrap_err().field, "token_budget");
        assert_eq!(
            zero.token_budget_or(700),
            700,
            "an imported 0 means the default"
        );
        let negative: Lorebook = serde_json::from_value(json!({"scan_depth": -1})).unwrap();
        assert_eq!(negative.validate().unwrap_err().field, "scan_depth");
        let huge: Lorebook =
            serde_json::from_value(json!({"token_budget": 10_000_000_000u64})).unwrap();
        assert_eq!(huge.validate().unwrap_err().field, "token_budget");
        assert_eq!(huge.token_budget_or(1), MAX_TOKEN_BUDGET);
    }
}
