//! Reactions (issue 19): members add and remove an emoji on a message they can see; every
//! member sees the change live as `message.reaction_added` / `message.reaction_removed`.

use db::conversations::ConversationRow;
use domain::events::ConversationEvent;
use domain::reactions::{ReactionCount, ReactionKey, MAX_DISTINCT_REACTIONS};
use domain::{ConversationId, MessageId};

use crate::error::{ChatError, Resource};
use crate::{access, messages, Actor, ChatContext};

/// A message the actor may react to: a live message of a conversation they are in, not written
/// by someone they blocked (they do not see it), and in a DM only while neither side blocks the
/// other (the DM rule for messages).
async fn reactable(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: &ConversationRow,
    message_id: MessageId,
) -> Result<(), ChatError> {
    let conversation_id = conversation.id;
    let row = messages::message_in(ctx, conversation_id, message_id).await?;
    if let Some(author) = row.author_id {
        let me = actor.id;
        let hidden = db::run(&ctx.db, move |c| {
            Ok(db::blocks::blocked_by(c, me)?.contains(&author))
        })
        .await?;
        if hidden {
            return Err(ChatError::NotFound(Resource::Message));
        }
    }
    if row.is_deleted() {
        return Err(ChatError::Conflict(
            "a deleted message cannot be reacted to",
        ));
    }
    messages::ensure_not_blocked(ctx, conversation, actor.id).await
}

/// The message's reactions as the actor sees them.
async fn summary(
    ctx: &ChatContext,
    actor: &Actor,
    message_id: MessageId,
) -> Result<Vec<ReactionCount>, ChatError> {
    let me = actor.id;
    let mut all = db::run(&ctx.db, move |c| {
        db::reactions::summaries(c, &[message_id], Some(me))
    })
    .await?;
    Ok(all.remove(&message_id).unwrap_or_default())
}

/// Adds the actor's `emoji` to the message (again: no change, no event). Returns the message's
/// reactions afterwards.
pub async fn add(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
    emoji: &str,
) -> Result<Vec<ReactionCount>, ChatError> {
    // Membership first: a stranger learns nothing, not even that the emoji was fine.
    let (conversation, _) = access::member_conversation(ctx, conversation_id, actor.id).await?;
    let emoji = ReactionKey::parse("emoji", emoji)?.into_inner();
    reactable(ctx, actor, &conversation, message_id).await?;
    // Reacting is cheap for the client and fans out to every member: the send limit applies.
    let limit = ctx.settings.rate_limit.sends_per_minute;
    crate::enforce_rate(ctx, &format!("react:user:{}", actor.id), limit).await?;
    let (me, key) = (actor.id, emoji.clone());
    let added = db::run(&ctx.db, move |c| {
        db::reactions::add(c, message_id, me, &key, MAX_DISTINCT_REACTIONS)
    })
    .await?;
    match added {
        db::reactions::Added::Full => {
            return Err(ChatError::Conflict(
                "this message has the most different reactions allowed (20)",
            ))
        }
        db::reactions::Added::Already { .. } => {}
        db::reactions::Added::New { count } => {
            let event = ConversationEvent::ReactionAdded {
                conversation_id,
                message_id,
                user_id: actor.id,
                emoji,
                count,
            };
            messages::publish(ctx, conversation_id, event).await?;
        }
    }
    summary(ctx, actor, message_id).await
}

/// Removes the actor's `emoji` from the message (absent: no change, no event). Returns the
/// message's reactions afterwards.
pub async fn remove(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
    emoji: &str,
) -> Result<Vec<ReactionCount>, ChatError> {
    // Taking one's reaction back needs only membership: a block or a deletion since must not
    // pin a reaction in place.
    access::member_conversation(ctx, conversation_id, actor.id).await?;
    let emoji = ReactionKey::parse("emoji", emoji)?.into_inner();
    messages::message_in(ctx, conversation_id, message_id).await?;
    let (me, key) = (actor.id, emoji.clone());
    let removed = db::run(&ctx.db, move |c| {
        db::reactions::remove(c, message_id, me, &key)
    })
    .await?;
    if let Some(count) = removed {
        let event = ConversationEvent::ReactionRemoved {
            conversation_id,
            message_id,
            user_id: actor.id,
            emoji,
            count,
        };
        messages::publish(ctx, conversation_id, event).await?;
    }
    summary(ctx, actor, message_id).await
}
