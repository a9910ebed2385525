//! Threads (issue 19): replies under a message of a group or channel, kept off the main
//! timeline. A reply is a `message.created` with `thread_root_id` on the conversation's log,
//! followed by `thread.updated` for the root's counter — so a client subscribed to the
//! conversation sees its threads live and resumes them like everything else, with no second
//! subscription to manage.

use db::conversations::ConversationRow;
use db::messages::MessageRow;
use domain::events::{ConversationEvent, EventPayload, MessageView};
use domain::{ConversationId, ConversationKind, MessageId, ValidationError};

use crate::error::{ChatError, Resource};
use crate::{access, messages, Actor, ChatContext};

/// How long the bus remembers that a reply's `thread.updated` went out (as for sends).
const ANNOUNCE_MEMORY: std::time::Duration = bus::JOB_MEMORY;

/// The root a new reply goes under: a live message of this group or channel that is not itself
/// a thread reply (threads do not nest). 422 naming `thread_root_id` otherwise.
pub(crate) async fn root_for_reply(
    ctx: &ChatContext,
    conversation: &ConversationRow,
    root: MessageId,
) -> Result<MessageRow, ChatError> {
    let invalid = |why: &'static str| ChatError::from(ValidationError::new("thread_root_id", why));
    if !matches!(
        conversation.kind,
        ConversationKind::Group | ConversationKind::Channel
    ) {
        return Err(invalid("threads exist only in groups and channels"));
    }
    let row = messages::message_in(ctx, conversation.id, root)
        .await
        .map_err(|e| match e {
            ChatError::NotFound(_) => invalid("must be a message of this conversation"),
            other => other,
        })?;
    if row.thread_root_id.is_some() {
        return Err(invalid("must not be a thread reply: threads do not nest"));
    }
    if row.is_deleted() {
        return Err(invalid("must not be a deleted message"));
    }
    Ok(row)
}

/// After a reply is stored and its `message.created` published: the root's new counter, at
/// most once per reply (a retried send repeats it only if the first try failed before it).
pub(crate) async fn announce_reply(
    ctx: &ChatContext,
    root: &MessageRow,
    reply: &MessageView,
) -> Result<(), ChatError> {
    let root_id = root.id;
    let summary = db::run(&ctx.db, move |c| {
        db::threads::summaries(c, &[root_id], None)
    })
    .await?
    .remove(&root_id);
    let Some(summary) = summary else {
        return Ok(());
    };
    let event = ConversationEvent::ThreadUpdated {
        conversation_id: root.conversation_id,
        root_id,
        reply_count: summary.reply_count,
        last_reply_at: summary.last_reply_at,
    };
    ctx.bus
        .publish_once(
            root.conversation_id,
            &format!("thread:{}", reply.id),
            &EventPayload::from(event),
            ANNOUNCE_MEMORY,
        )
        .await?;
    Ok(())
}

/// A thread as a member reads it.
#[derive(Debug, Clone)]
pub struct ThreadPage {
    pub root: MessageView,
    pub replies: Vec<MessageView>,
    pub has_more: bool,
}

/// The root and a page of its replies (oldest first, after `after`), for any member; 404 when
/// the message is not a root of this conversation.
pub async fn list(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    root: MessageId,
    after: Option<MessageId>,
    limit: i64,
) -> Result<ThreadPage, ChatError> {
    access::member_conversation(ctx, conversation_id, actor.id).await?;
    let row = messages::message_in(ctx, conversation_id, root).await?;
    if row.thread_root_id.is_some() {
        return Err(ChatError::NotFound(Resource::Message));
    }
    let me = actor.id;
    db::run(&ctx.db, move |c| {
        let mut replies = db::threads::replies(c, root, after, limit + 1, me)?;
        let has_more = replies.len() as i64 > limit;
        replies.truncate(usize::try_from(limit).unwrap_or(0));
        let mut views = db::messages::views(c, std::slice::from_ref(&row))?;
        views.extend(db::messages::views(c, &replies)?);
        db::messages::annotate(c, &mut views, Some(me))?;
        let mut views = views.into_iter();
        let root = views.next().ok_or(db::DbError::NotFound)?;
        Ok(ThreadPage {
            root,
            replies: views.collect(),
            has_more,
        })
    })
    .await
    .map_err(ChatError::from)
}

/// Moves the actor's marker in the thread under `root` to `message_id` (a reply of that thread)
/// and tells their other devices.
pub async fn mark_read(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    root: MessageId,
    message_id: MessageId,
) -> Result<(), ChatError> {
    access::member_conversation(ctx, conversation_id, actor.id).await?;
    let row = messages::message_in(ctx, conversation_id, root).await?;
    if row.thread_root_id.is_some() {
        return Err(ChatError::NotFound(Resource::Message));
    }
    let me = actor.id;
    db::run(&ctx.db, move |c| {
        let reply = db::messages::find(c, message_id)?;
        if reply.thread_root_id != Some(root) {
            return Err(db::DbError::NotFound);
        }
        db::threads::mark_read(c, root, me, message_id)
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ChatError::from(ValidationError::new(
            "message_id",
            "must be a reply in this thread",
        )),
        other => ChatError::from(other),
    })?;
    crate::conversations::announce_read(ctx, actor, conversation_id, message_id, Some(root)).await;
    Ok(())
}
