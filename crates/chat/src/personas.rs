//! Personas: who a user speaks as. Each user sees and changes only their own (another user's
//! persona is "not found"); the first is the default, and one may be locked to a conversation.

use db::personas::{PersonaChanges, PersonaRow};
use domain::{bounded_text, ConversationId, HttpUrl, PersonaId, ValidationError};

use crate::error::{ChatError, Resource};
use crate::{access, Actor, ChatContext};

/// At most this many personas per user: a picker, not a database.
pub const MAX_PERSONAS: usize = 100;

/// A persona's fields as given (absent: unchanged on update).
#[derive(Debug, Clone, Default)]
pub struct PersonaInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` clears the avatar.
    pub avatar_url: Option<Option<String>>,
}

fn checked(input: PersonaInput) -> Result<PersonaChanges, ChatError> {
    Ok(PersonaChanges {
        name: input
            .name
            .map(|n| bounded_text("name", &n, 1, 100))
            .transpose()?,
        description: input
            .description
            .map(|d| bounded_text("description", &d, 0, 5000))
            .transpose()?,
        avatar_url: input
            .avatar_url
            .map(|a| {
                a.map(|url| HttpUrl::parse("avatar_url", &url).map(|u| u.as_str().to_owned()))
                    .transpose()
            })
            .transpose()?,
    })
}

pub async fn create(
    ctx: &ChatContext,
    actor: &Actor,
    input: PersonaInput,
) -> Result<PersonaRow, ChatError> {
    if input.name.is_none() {
        return Err(ValidationError::new("name", "is required").into());
    }
    let changes = checked(input)?;
    let me = actor.id;
    let row = db::run(&ctx.db, move |c| {
        if db::personas::list(c, me)?.len() >= MAX_PERSONAS {
            return Ok(None);
        }
        db::personas::insert(
            c,
            me,
            changes.name.as_deref().unwrap_or_default(),
            changes.description.as_deref().unwrap_or_default(),
            changes.avatar_url.flatten().as_deref(),
        )
        .map(Some)
    })
    .await?;
    row.ok_or_else(|| {
        ValidationError {
            limit: Some(MAX_PERSONAS as u64),
            ..ValidationError::new("personas", format!("at most {MAX_PERSONAS} personas"))
        }
        .into()
    })
}

pub async fn list(ctx: &ChatContext, actor: &Actor) -> Result<Vec<PersonaRow>, ChatError> {
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| db::personas::list(c, me)).await?)
}

/// The actor's persona; another user's is not found.
pub async fn get(ctx: &ChatContext, actor: &Actor, id: PersonaId) -> Result<PersonaRow, ChatError> {
    let me = actor.id;
    db::run(&ctx.db, move |c| db::personas::find_owned(c, id, me))
        .await?
        .ok_or(ChatError::NotFound(Resource::Persona))
}

pub async fn update(
    ctx: &ChatContext,
    actor: &Actor,
    id: PersonaId,
    input: PersonaInput,
) -> Result<PersonaRow, ChatError> {
    get(ctx, actor, id).await?;
    let changes = checked(input)?;
    Ok(db::run(&ctx.db, move |c| db::personas::update(c, id, &changes)).await?)
}

pub async fn delete(ctx: &ChatContext, actor: &Actor, id: PersonaId) -> Result<(), ChatError> {
    get(ctx, actor, id).await?;
    Ok(db::run(&ctx.db, move |c| db::personas::delete(c, id)).await?)
}

/// Makes the persona the actor's default (used wherever none is locked).
pub async fn make_default(
    ctx: &ChatContext,
    actor: &Actor,
    id: PersonaId,
) -> Result<PersonaRow, ChatError> {
    get(ctx, actor, id).await?;
    let me = actor.id;
    db::run(&ctx.db, move |c| db::personas::set_default(c, me, id)).await?;
    get(ctx, actor, id).await
}

/// The persona the actor is locked to in a conversation (members only).
pub async fn locked(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
) -> Result<Option<PersonaRow>, ChatError> {
    access::member_conversation(ctx, conversation, actor.id).await?;
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| {
        match db::chat_settings::locked_persona(c, conversation, me)? {
            Some(id) => db::personas::find_owned(c, id, me),
            None => Ok(None),
        }
    })
    .await?)
}

/// Locks (or with `None` unlocks) the persona the actor speaks as in a conversation. Each member
/// picks their own; a persona that is not the actor's is refused as invalid input (422), never
/// used.
pub async fn lock(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
    persona: Option<PersonaId>,
) -> Result<Option<PersonaRow>, ChatError> {
    access::member_conversation(ctx, conversation, actor.id).await?;
    let me = actor.id;
    let row = db::run(&ctx.db, move |c| {
        let row = match persona {
            Some(id) => match db::personas::find_owned(c, id, me)? {
                Some(row) => Some(row),
                None => return Ok(Err(())),
            },
            None => None,
        };
        db::chat_settings::lock_persona(c, conversation, me, persona)?;
        Ok(Ok(row))
    })
    .await?;
    row.map_err(|()| ValidationError::new("persona_id", "no such persona of yours").into())
}
