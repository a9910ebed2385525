//! Pins (issue 19): owners and admins of a room pin messages; every member reads the list. In a
//! DM (no roles to speak of) either person pins; in an AI chat its owner.

use chrono::{DateTime, Utc};
use domain::events::{ConversationEvent, MessageView};
use domain::{ConversationId, ConversationKind, MessageId, UserId};

use crate::error::ChatError;
use crate::{access, messages, Actor, ChatContext};

/// The most pins one conversation keeps (Discord's limit).
pub const MAX_PINS: i64 = 50;

/// A pinned message with who pinned it and when.
#[derive(Debug, Clone)]
pub struct Pin {
    pub message: MessageView,
    pub pinned_by: Option<UserId>,
    pub pinned_at: DateTime<Utc>,
}

/// The conversation, if the actor may pin in it: 404 for strangers, 403 for members of a group
/// or channel without the role.
async fn pinnable(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
) -> Result<(), ChatError> {
    let (conversation, member) =
        access::member_conversation(ctx, conversation_id, actor.id).await?;
    let may = match conversation.kind {
        ConversationKind::Direct => true,
        ConversationKind::AiChat | ConversationKind::Group | ConversationKind::Channel => {
            member.role.can_manage()
        }
    };
    if !may {
        return Err(ChatError::Forbidden(
            "only the owner or an admin may pin messages",
        ));
    }
    Ok(())
}

/// Pins a live message of the conversation (pinning twice: no change, no event).
pub async fn pin(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<(), ChatError> {
    pinnable(ctx, actor, conversation_id).await?;
    let row = messages::message_in(ctx, conversation_id, message_id).await?;
    if row.is_deleted() {
        return Err(ChatError::Conflict("a deleted message cannot be pinned"));
    }
    let me = actor.id;
    let pinned = db::run(&ctx.db, move |c| {
        db::transaction(c, |c| {
            if db::pins::count(c, conversation_id)? >= MAX_PINS {
                return Ok(None);
            }
            db::pins::pin(c, conversation_id, message_id, me).map(Some)
        })
    })
    .await?;
    match pinned {
        None => Err(ChatError::Conflict(
            "this conversation has the most pins allowed (50); unpin one first",
        )),
        Some(false) => Ok(()),
        Some(true) => {
            let event = ConversationEvent::MessagePinned {
                conversation_id,
                message_id,
                pinned_by: me,
            };
            messages::publish(ctx, conversation_id, event).await
        }
    }
}

/// Unpins a message (not pinned: no change, no event).
pub async fn unpin(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<(), ChatError> {
    pinnable(ctx, actor, conversation_id).await?;
    messages::message_in(ctx, conversation_id, message_id).await?;
    let removed = db::run(&ctx.db, move |c| db::pins::unpin(c, message_id)).await?;
    if removed {
        let event = ConversationEvent::MessageUnpinned {
            conversation_id,
            message_id,
        };
        messages::publish(ctx, conversation_id, event).await?;
    }
    Ok(())
}

/// The conversation's pins, newest first, for any member.
pub async fn list(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
) -> Result<Vec<Pin>, ChatError> {
    access::member_conversation(ctx, conversation_id, actor.id).await?;
    let me = actor.id;
    let pins = db::run(&ctx.db, move |c| {
        let pins = db::pins::list(c, conversation_id, me)?;
        let rows: Vec<_> = pins.iter().map(|(m, _, _)| m.clone()).collect();
        let mut views = db::messages::views(c, &rows)?;
        db::messages::annotate(c, &mut views, Some(me))?;
        Ok(views
            .into_iter()
            .zip(pins)
            .map(|(message, (_, pinned_by, at))| Pin {
                message,
                pinned_by,
                pinned_at: at.and_utc(),
            })
            .collect())
    })
    .await?;
    Ok(pins)
}
