//! A conversation's own settings: renaming, deleting, the reader's read marker, and where it
//! sits in the reader's list (pinned, archived).

use db::conversations::{ConversationChanges, ConversationRow};
use db::members::{ListChange, MemberRow};
use domain::{
    bounded_text_opt, ConversationId, ConversationKind, MemberRole, MessageId, ValidationError,
};

use crate::error::ChatError;
use crate::{access, Actor, ChatContext};

/// New title and description (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct ConversationEdit {
    pub title: Option<String>,
    pub description: Option<String>,
}

/// Owners and admins rename groups, channels and their AI chats; a DM has no name to change.
/// Returns the conversation and the actor's role in it.
pub async fn update(
    ctx: &ChatContext,
    actor: &Actor,
    id: ConversationId,
    edit: ConversationEdit,
) -> Result<(ConversationRow, MemberRole), ChatError> {
    let (conversation, member) = access::managed_conversation(ctx, id, actor.id).await?;
    if conversation.kind == ConversationKind::Direct {
        return Err(ChatError::Forbidden(
            "direct conversations cannot be renamed",
        ));
    }
    let changes = ConversationChanges {
        title: bounded_text_opt("title", edit.title.as_deref(), 1, 100)?,
        description: bounded_text_opt("description", edit.description.as_deref(), 0, 1000)?,
        ..Default::default()
    };
    let row = db::run(&ctx.db, move |c| db::conversations::update(c, id, &changes)).await?;
    Ok((row, member.role))
}

/// Only the owner deletes a conversation; a channel is deleted through its server.
pub async fn delete(ctx: &ChatContext, actor: &Actor, id: ConversationId) -> Result<(), ChatError> {
    let (conversation, member) = access::member_conversation(ctx, id, actor.id).await?;
    if member.role != MemberRole::Owner || conversation.kind == ConversationKind::Channel {
        return Err(ChatError::Forbidden(
            "only the owner may delete this conversation",
        ));
    }
    db::run(&ctx.db, move |c| db::conversations::delete(c, id)).await?;
    Ok(())
}

/// Moves the actor's read marker to `message_id`, a message of this conversation.
pub async fn mark_read(
    ctx: &ChatContext,
    actor: &Actor,
    id: ConversationId,
    message_id: MessageId,
) -> Result<(), ChatError> {
    let (conversation, _) = access::member_conversation(ctx, id, actor.id).await?;
    let me = actor.id;
    db::run(&ctx.db, move |c| {
        let message = db::messages::find(c, message_id)?;
        if message.conversation_id != id {
            return Err(db::DbError::NotFound);
        }
        db::members::mark_read(c, id, me, message_id)
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ChatError::from(ValidationError::new(
            "message_id",
            "must be a message of this conversation",
        )),
        other => ChatError::from(other),
    })?;
    announce_read(ctx, actor, id, message_id, None).await;
    if conversation.kind == ConversationKind::Direct && receipts_shared(ctx, id, me).await? {
        let receipt = domain::events::ConversationEvent::ReadReceipt {
            conversation_id: id,
            user_id: me,
            message_id,
        };
        crate::messages::publish(ctx, id, receipt).await?;
    }
    Ok(())
}

/// How many conversations one person may pin to the top of their list (Telegram's and
/// WhatsApp's lists allow a handful; a list of nothing but pins orders nothing).
pub const MAX_PINNED_CONVERSATIONS: i64 = 10;

/// Pins, unpins, archives or restores a conversation in the actor's own list. Any active member
/// may arrange their list; others get 404. Channels live in their server's channel list, not in
/// the conversation list, so they cannot be arranged here.
pub async fn arrange(
    ctx: &ChatContext,
    actor: &Actor,
    id: ConversationId,
    change: ListChange,
) -> Result<MemberRow, ChatError> {
    let (conversation, _) = access::member_conversation(ctx, id, actor.id).await?;
    if conversation.kind == ConversationKind::Channel {
        return Err(ValidationError::new(
            "id",
            "channels are arranged in their server, not in the conversation list",
        )
        .into());
    }
    let me = actor.id;
    db::run(&ctx.db, move |c| {
        db::transaction(c, |c| {
            if change == ListChange::Pin {
                let already = db::members::find(c, id, me)?.is_some_and(|m| m.pinned_at.is_some());
                if !already && db::members::count_pinned(c, me)? >= MAX_PINNED_CONVERSATIONS {
                    return Ok(Err(ChatError::Conflict(
                        "at most 10 conversations can be pinned; unpin one first",
                    )));
                }
            }
            db::members::arrange(c, id, me, change).map(Ok)
        })
    })
    .await?
}

/// Read receipts in a DM go out only when both people turned them on: you see the other's
/// only if you share yours (the rule messengers use), and either can stop them alone.
async fn receipts_shared(
    ctx: &ChatContext,
    id: ConversationId,
    reader: domain::UserId,
) -> Result<bool, ChatError> {
    Ok(db::run(&ctx.db, move |c| {
        for user in db::members::active_user_ids(c, id)? {
            if !db::user_settings::get(c, user)?.read_receipts {
                return Ok(false);
            }
        }
        // A DM whose other side left has nobody to tell.
        Ok(db::members::active_user_ids(c, id)?
            .iter()
            .any(|u| *u != reader))
    })
    .await?)
}

/// Tells the reader's other devices (issue 19): they move their marker and badge at once.
/// Best effort: the stored marker is what counts, and a device that missed this reads it again
/// from REST.
pub(crate) async fn announce_read(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
    thread_root_id: Option<MessageId>,
) {
    let event = domain::events::UserEvent::ConversationRead {
        conversation_id,
        message_id,
        thread_root_id,
    };
    if let Err(e) = ctx.bus.publish_user(actor.id, &event).await {
        tracing::warn!(error = %e, user = %actor.id, "conversation.read not announced");
    }
}
