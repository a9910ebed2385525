//! The context report: what the model was shown for one reply, section by section, with token
//! counts (DESIGN §7). The worker writes one per reply; `GET /conversations/{cid}/messages/{id}/context`
//! reads it back. Stored as JSON, so later sections (memory, summaries: issue 17) are added as
//! new [`SectionKind`]s without a migration; `v` says which shape a stored report has.

use serde::{Deserialize, Serialize};

use crate::lorebook::Position;

/// The version of the report's shape.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextReport {
    pub v: u32,
    /// The `provider/model` id the prompt was built for.
    pub model: String,
    /// How tokens were counted: `o200k_base`, `cl100k_base` or `estimate` (conservative, per
    /// script).
    pub encoding: String,
    /// Tokens the prompt could take (the model's window less the reply and a margin).
    pub budget_tokens: u32,
    /// Tokens of the prompt as sent.
    pub prompt_tokens: u32,
    /// The sections in the order the model reads them.
    pub sections: Vec<ContextSection>,
    /// Lorebook entries that fired and were inserted.
    pub lore: Vec<LoreHit>,
    /// Entries that fired but did not fit their book's budget (or the prompt's).
    pub lore_dropped: Vec<LoreHit>,
    pub history: HistoryReport,
    /// Example dialogue blocks left out for the budget.
    pub examples_dropped: u32,
    pub author_note: Option<AuthorNoteReport>,
    pub persona: Option<PersonaReport>,
    pub settings: SettingsUsed,
}

/// A part of the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    CommonPrompt,
    Persona,
    LoreBeforeChar,
    Card,
    Examples,
    LoreAfterChar,
    History,
    NewMessage,
    LoreAtDepth,
    AuthorNote,
    PostHistory,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextSection {
    pub kind: SectionKind,
    pub tokens: u32,
    /// The text as sent (macros replaced); absent for the history, which the conversation
    /// itself shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where a history-placed section went: messages from the end (0 = after the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoreHit {
    /// The lorebook; absent for a book that is not stored on its own.
    pub lorebook_id: Option<i64>,
    pub lorebook: String,
    /// The entry's index in its book.
    pub entry: u32,
    pub label: String,
    /// The key that matched as written; absent for a constant entry.
    pub key: Option<String>,
    pub position: Position,
    pub tokens: u32,
    /// 0 = matched in the messages; n = matched in entries fired in recursion round n.
    pub round: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryReport {
    /// Earlier messages that could have been sent.
    pub available: u32,
    /// Those that fit, the newest ones.
    pub included: u32,
    pub dropped: u32,
    pub tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorNoteReport {
    pub text: String,
    pub depth: u32,
    pub interval: u32,
    /// False on turns the interval skips.
    pub inserted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonaReport {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsUsed {
    pub model: String,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: u32,
}
