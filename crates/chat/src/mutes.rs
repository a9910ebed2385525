//! Muting a conversation (issue 19): members mute for themselves; strangers get 404.

use chrono::{DateTime, Utc};
use domain::{ConversationId, ValidationError};

use crate::error::ChatError;
use crate::{access, Actor, ChatContext};

/// Mutes until `until` (must be in the future) or until unmuted.
pub async fn mute(
    ctx: &ChatContext,
    actor: &Actor,
    id: ConversationId,
    until: Option<DateTime<Utc>>,
) -> Result<(), ChatError> {
    access::member_conversation(ctx, id, actor.id).await?;
    if until.is_some_and(|t| t <= Utc::now()) {
        return Err(ValidationError::new("until", "must be in the future").into());
    }
    let me = actor.id;
    let until = until.map(|t| t.naive_utc());
    db::run(&ctx.db, move |c| db::mutes::mute(c, me, id, until)).await?;
    Ok(())
}

pub async fn unmute(ctx: &ChatContext, actor: &Actor, id: ConversationId) -> Result<(), ChatError> {
    access::member_conversation(ctx, id, actor.id).await?;
    let me = actor.id;
    db::run(&ctx.db, move |c| db::mutes::unmute(c, me, id)).await?;
    Ok(())
}
