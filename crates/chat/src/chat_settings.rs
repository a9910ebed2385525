//! Per-conversation chat settings: the Author's Note (text, depth, every N turns), the model and
//! sampling (temperature, top-p, reply length) within the bounds the administrators set.
//! Members see them; the owner (rooms: owner and admins) changes them.

use db::chat_settings::ChatSettings;
use domain::{ConversationId, ValidationError};

use crate::error::ChatError;
use crate::{access, Actor, ChatContext};

pub const MAX_AUTHOR_NOTE_CHARS: usize = 5_000;
pub const MAX_DEPTH: i32 = 1_000;
pub const MAX_INTERVAL: i32 = 1_000;

/// A change; `None` leaves a field as it is, `Some(None)` clears a nullable one (back to the
/// deployment's default).
#[derive(Debug, Clone, Default)]
pub struct SettingsEdit {
    pub author_note: Option<String>,
    pub author_note_depth: Option<i32>,
    pub author_note_interval: Option<i32>,
    pub model: Option<Option<String>>,
    pub temperature: Option<Option<f64>>,
    pub top_p: Option<Option<f64>>,
    pub max_tokens: Option<Option<i32>>,
}

/// The bounds of what a conversation may ask for, from the deployment's settings.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// The default model and the allowed ones.
    pub models: Vec<String>,
    pub temperature_max: f64,
    pub max_tokens: i32,
}

impl Bounds {
    pub fn from_settings(settings: &platform::Settings) -> Self {
        let llm = &settings.llm;
        let mut models: Vec<String> = Vec::new();
        if !llm.default_model.trim().is_empty() {
            models.push(llm.default_model.trim().to_owned());
        }
        for m in &llm.allowed_models {
            let m = m.trim();
            if !m.is_empty() && !models.iter().any(|x| x == m) {
                models.push(m.to_owned());
            }
        }
        Self {
            models,
            temperature_max: llm.temperature_max.clamp(0.0, 2.0),
            max_tokens: i32::try_from(llm.max_output_tokens.max(1)).unwrap_or(i32::MAX),
        }
    }
}

fn range_error(
    field: &str,
    low: impl std::fmt::Display,
    high: impl std::fmt::Display,
) -> ChatError {
    ValidationError::new(field, format!("must be between {low} and {high}")).into()
}

/// Applies `edit` to `current`, refusing anything outside the bounds (nothing is stored then).
pub fn apply(
    mut current: ChatSettings,
    edit: SettingsEdit,
    bounds: &Bounds,
) -> Result<ChatSettings, ChatError> {
    if let Some(note) = edit.author_note {
        if note.chars().count() > MAX_AUTHOR_NOTE_CHARS {
            return Err(ValidationError::too_long("author_note", MAX_AUTHOR_NOTE_CHARS).into());
        }
        current.author_note = note;
    }
    if let Some(depth) = edit.author_note_depth {
        if !(0..=MAX_DEPTH).contains(&depth) {
            return Err(range_error("author_note_depth", 0, MAX_DEPTH));
        }
        current.author_note_depth = depth;
    }
    if let Some(n) = edit.author_note_interval {
        if !(0..=MAX_INTERVAL).contains(&n) {
            return Err(range_error("author_note_interval", 0, MAX_INTERVAL));
        }
        current.author_note_interval = n;
    }
    if let Some(model) = edit.model {
        if let Some(m) = &model {
            if !bounds.models.iter().any(|allowed| allowed == m) {
                return Err(ValidationError::new(
                    "model",
                    "is not one of the models this deployment allows",
                )
                .into());
            }
        }
        current.model = model;
    }
    if let Some(t) = edit.temperature {
        if let Some(t) = t {
            if !t.is_finite() || !(0.0..=bounds.temperature_max).contains(&t) {
                return Err(range_error("temperature", 0, bounds.temperature_max));
            }
        }
        current.temperature = t;
    }
    if let Some(p) = edit.top_p {
        if let Some(p) = p {
            if !p.is_finite() || !(0.0..=1.0).contains(&p) || p == 0.0 {
                return Err(range_error("top_p", "0 (exclusive)", 1));
            }
        }
        current.top_p = p;
    }
    if let Some(n) = edit.max_tokens {
        if let Some(n) = n {
            if !(1..=bounds.max_tokens).contains(&n) {
                return Err(range_error("max_tokens", 1, bounds.max_tokens));
            }
        }
        current.max_tokens = n;
    }
    Ok(current)
}

/// The settings of a conversation (defaults until someone changes them); members only.
pub async fn get(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
) -> Result<ChatSettings, ChatError> {
    access::member_conversation(ctx, conversation, actor.id).await?;
    let row = db::run(&ctx.db, move |c| db::chat_settings::find(c, conversation)).await?;
    Ok(row.map(ChatSettings::from).unwrap_or_default())
}

/// Changes the settings: the owner, or in rooms the owner and admins (403 for other members).
pub async fn update(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
    edit: SettingsEdit,
) -> Result<ChatSettings, ChatError> {
    access::managed_conversation(ctx, conversation, actor.id).await?;
    let current = db::run(&ctx.db, move |c| db::chat_settings::find(c, conversation))
        .await?
        .map(ChatSettings::from)
        .unwrap_or_default();
    let next = apply(current, edit, &Bounds::from_settings(&ctx.settings))?;
    let me = actor.id;
    let row = db::run(&ctx.db, move |c| {
        db::chat_settings::put(c, conversation, me, &next)
    })
    .await?;
    Ok(ChatSettings::from(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Bounds {
        Bounds {
            models: vec![
                "openai/gpt-4o-mini".into(),
                "anthropic/claude-sonnet-4".into(),
            ],
            temperature_max: 1.5,
            max_tokens: 1024,
        }
    }

    #[test]
    fn values_outside_the_bounds_are_refused_with_their_field() {
        let field = |edit: SettingsEdit| match apply(ChatSettings::default(), edit, &bounds()) {
            Err(ChatError::Invalid(e)) => e.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(SettingsEdit {
                temperature: Some(Some(1.6)),
                ..Default::default()
            }),
            "temperature"
        );
        assert_eq!(
            field(SettingsEdit {
                temperature: Some(Some(f64::NAN)),
                ..Default::default()
            }),
            "temperature"
        );
        assert_eq!(
            field(SettingsEdit {
                top_p: Some(Some(0.0)),
                ..Default::default()
            }),
            "top_p"
        );
        assert_eq!(
            field(SettingsEdit {
                max_tokens: Some(Some(1025)),
                ..Default::default()
            }),
            "max_tokens"
        );
        assert_eq!(
            field(SettingsEdit {
                model: Some(Some("openai/gpt-5".into())),
                ..Default::default()
            }),
            "model"
        );
        assert_eq!(
            field(SettingsEdit {
                author_note_depth: Some(-1),
                ..Default::default()
            }),
            "author_note_depth"
        );
        assert_eq!(
            field(SettingsEdit {
                author_note: Some("가".repeat(5001)),
                ..Default::default()
            }),
            "author_note"
        );
    }

    #[test]
    fn a_partial_edit_keeps_the_rest_and_clears_on_null() {
        let s = apply(
            ChatSettings::default(),
            SettingsEdit {
                temperature: Some(Some(0.7)),
                model: Some(Some("anthropic/claude-sonnet-4".into())),
                ..Default::default()
            },
            &bounds(),
        )
        .unwrap();
        let s = apply(
            s,
            SettingsEdit {
                author_note: Some("긴장감".into()),
                model: Some(None),
                ..Default::default()
            },
            &bounds(),
        )
        .unwrap();
        assert_eq!(s.temperature, Some(0.7));
        assert_eq!(s.model, None);
        assert_eq!(s.author_note, "긴장감");
        assert_eq!(s.author_note_depth, 4);
    }
}
