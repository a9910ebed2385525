//! Sending, editing and deleting messages, and the AI jobs a message triggers.

use std::time::Duration;

use crate::error::{ChatError, Resource};
use crate::{access, Actor, ChatContext};
use db::conversations::ConversationRow;
use db::messages::{MessageRow, NewMessageRow};
use domain::events::{ConversationEvent, EventPayload, MessageView};
use domain::jobs::{JobKind, LlmJob, JOB_VERSION};
use domain::{
    ConversationId, ConversationKind, HttpUrl, MemberRole, MessageContent, MessageId, MessageRole,
    MessageStatus, MessageType, UserId, ValidationError,
};

/// A message as a client submits it (REST body or WebSocket `send` frame).
#[derive(Debug, Clone, Default)]
pub struct SendInput {
    pub content: String,
    /// Makes retries idempotent: the same client id in the same conversation returns the first
    /// stored message instead of storing a second one.
    pub client_id: Option<String>,
    pub reply_to_id: Option<MessageId>,
    pub message_type: Option<MessageType>,
    /// Attachment details for image/file messages: `{"url": "https://…", "name": …, "size": …}`.
    pub metadata: Option<serde_json::Value>,
    /// Reply in the thread under this message (groups and channels; issue 19).
    pub thread_root_id: Option<MessageId>,
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_match_whole_names_case_insensitively() {
        assert!(mentions("hey @Luna, what do you think?", "Luna"));
        assert!(mentions("luna: are you there", "Luna"));
        assert!(mentions("ask Dr. Who about it", "Dr. Who"));
        assert!(!mentions("lunatic ideas", "Luna"));
        assert!(!mentions("nobody here", "Luna"));
        assert!(!mentions("anything", " "));
    }
}

#[derive(Debug, Clone)]
pub struct SendOutcome {
    pub message: MessageView,
    /// The generation job answering this message, for AI conversations.
    pub job_id: Option<String>,
    /// False when the client id was seen before and `message` is the original.
    pub created: bool,
}

fn validate_client_id(client_id: Option<String>) -> Result<Option<String>, ChatError> {
    match client_id {
        None => Ok(None),
        Some(id)
            if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_graphic()) =>
        {
            Ok(Some(id))
        }
        Some(_) => Err(ValidationError::new(
            "client_id",
            "must be 1 to 64 printable ASCII characters",
        )
        .into()),
    }
}

/// Checks type and metadata: text needs nothing, image/file need an http(s) `url`; users
/// cannot send system messages.
fn validate_attachment(
    message_type: MessageType,
    metadata: Option<serde_json::Value>,
) -> Result<String, ChatError> {
    let metadata = metadata.unwrap_or_else(|| serde_json::json!({}));
    let object = metadata
        .as_object()
        .ok_or_else(|| ValidationError::new("metadata", "must be a JSON object"))?;
    if metadata.to_string().len() > 4096 {
        return Err(ValidationError::new("metadata", "must be at most 4096 bytes of JSON").into());
    }
    match message_type {
        MessageType::Text => {}
        MessageType::Image | MessageType::File => {
            let url = object.get("url").and_then(|u| u.as_str()).ok_or_else(|| {
                ValidationError::new("metadata.url", "image and file messages need a url")
            })?;
            HttpUrl::parse("metadata.url", url)?;
        }
        MessageType::System => {
            return Err(
                ValidationError::new("message_type", "system messages cannot be sent").into(),
            )
        }
    }
    Ok(metadata.to_string())
}

async fn enforce_send_rate(ctx: &ChatContext, user: UserId) -> Result<(), ChatError> {
    let limit = ctx.settings.rate_limit.sends_per_minute;
    crate::enforce_rate(ctx, &format!("send:user:{user}"), limit).await
}

/// In a DM, either side's block stops messages.
pub(crate) async fn ensure_not_blocked(
    ctx: &ChatContext,
    conversation: &ConversationRow,
    sender: UserId,
) -> Result<(), ChatError> {
    if conversation.kind != ConversationKind::Direct {
        return Ok(());
    }
    let id = conversation.id;
    let blocked = db::run(&ctx.db, move |c| {
        let others = db::members::active_user_ids(c, id)?;
        for other in others.into_iter().filter(|o| *o != sender) {
            if db::blocks::is_blocked_either_way(c, sender, other)? {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await?;
    if blocked {
        return Err(ChatError::Forbidden("you cannot message this user"));
    }
    Ok(())
}

/// Stores a user's message, publishes `message.created`, and for AI conversations enqueues the
/// reply job. Idempotent on `client_id`.
pub async fn send(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    input: SendInput,
) -> Result<SendOutcome, ChatError> {
    let content = MessageContent::parse(&input.content, ctx.settings.chat.effective_max_chars())?;
    let client_id = validate_client_id(input.client_id)?;
    let message_type = input.message_type.unwrap_or(MessageType::Text);
    let metadata = validate_attachment(message_type, input.metadata)?;
    let (conversation, member) =
        access::member_conversation(ctx, conversation_id, actor.id).await?;
    let thread_root = match input.thread_root_id {
        Some(root) => Some(crate::threads::root_for_reply(ctx, &conversation, root).await?),
        None => None,
    };
    ensure_not_blocked(ctx, &conversation, actor.id).await?;
    enforce_send_rate(ctx, actor.id).await?;
    // People are mentioned where people talk; an AI chat has only its owner.
    let (mentioned, everyone) = if conversation.kind == ConversationKind::AiChat {
        (Vec::new(), false)
    } else {
        let (room, role, text, me) = (
            conversation.clone(),
            member.role,
            content.as_str().to_owned(),
            actor.id,
        );
        crate::mentions::checked(
            db::run(&ctx.db, move |c| {
                crate::mentions::resolve(c, &room, me, role, &text)
            })
            .await?,
        )?
    };

    let new = NewMessageRow {
        conversation_id,
        author_id: Some(actor.id),
        character_id: None,
        role: MessageRole::User,
        message_type,
        content: content.into_inner(),
        metadata,
        reply_to_id: input.reply_to_id,
        status: MessageStatus::Complete,
        job_id: None,
        client_id,
        prompt_tokens: None,
        completion_tokens: None,
        model: None,
    };
    let reply_to = input.reply_to_id;
    let root_id = thread_root.as_ref().map(|r| r.id);
    let (author, character) = (actor.id, conversation.character_id);
    let kind = conversation.kind;
    let (inserted, view) = db::run(&ctx.db, move |c| {
        if let Some(target) = reply_to {
            let target_row = db::messages::find(c, target).ok();
            if target_row.is_none_or(|t| t.conversation_id != conversation_id) {
                return Err(db::DbError::NotFound);
            }
        }
        // The message, its admin statistics (issue #6) and the jobs answering it (the outbox,
        // issue #14: an accepted job survives any loss of Redis data) are stored together.
        let inserted = db::transaction(c, |c| {
            let mut inserted = db::messages::insert_idempotent_in(c, new, root_id)?;
            if inserted.created {
                db::mentions::insert(c, inserted.message.id, &mentioned, everyone)?;
                inserted.message.mention_everyone = everyone;
                let m = &inserted.message;
                db::stats::record_user_message(c, author, character, m.created_at.date(), m.id)?;
                // AI characters answer on the main timeline only (their replies follow the
                // active path, which a thread is not on).
                if root_id.is_none() {
                    for job in jobs_answering(c, kind, m)? {
                        db::outbox::insert(c, &job)?;
                    }
                }
            }
            Ok(inserted)
        })?;
        let mut view = db::messages::views(c, std::slice::from_ref(&inserted.message))?;
        db::messages::annotate(c, &mut view, None)?;
        Ok((inserted, view))
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => {
            ValidationError::new("reply_to_id", "must be a message of this conversation").into()
        }
        other => ChatError::from(other),
    })?;
    let message = view
        .into_iter()
        .next()
        .ok_or(ChatError::Db(db::DbError::NotFound))?;

    // Published on the first try and on every retry, but at most once (the bus remembers the
    // message id): a send whose publish failed after its insert is healed by the client's
    // retry with the same client id instead of never reaching the other members.
    ctx.bus
        .publish_once(
            conversation_id,
            &format!("created:{}", message.id),
            &EventPayload::from(ConversationEvent::MessageCreated {
                message: message.clone(),
            }),
            JOB_MEMORY,
        )
        .await?;
    if inserted.created {
        // The message is stored and published; a failure to notify must not fail the send.
        let root_author = thread_root.as_ref().and_then(|r| r.author_id);
        if let Err(e) =
            crate::notifications::on_message(ctx, conversation.kind, &message, root_author).await
        {
            tracing::warn!(error = %e, message = %message.id, "notifications not stored");
        }
    }
    if let Some(root) = &thread_root {
        crate::threads::announce_reply(ctx, root, &message).await?;
        return Ok(SendOutcome {
            message,
            job_id: None,
            created: inserted.created,
        });
    }
    let job_id = match conversation.kind {
        ConversationKind::AiChat => {
            Some(ensure_reply_job(ctx, &conversation, &inserted.message, inserted.created).await?)
        }
        // Mention jobs are enqueued once per job id, so a retry re-enqueues only what a failed
        // first try did not.
        ConversationKind::Group | ConversationKind::Channel => {
            enqueue_mentions(ctx, &conversation, &inserted.message).await?
        }
        _ => None,
    };
    Ok(SendOutcome {
        message,
        job_id,
        created: inserted.created,
    })
}

/// Whether `content` addresses `name`: `@name`, or the name as a whole word, case-insensitive.
pub fn mentions(content: &str, name: &str) -> bool {
    let (content, name) = (content.to_lowercase(), name.trim().to_lowercase());
    if name.is_empty() {
        return false;
    }
    content.match_indices(&name).any(|(at, _)| {
        let before = content[..at].chars().next_back();
        let after = content[at + name.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        boundary(before) && boundary(after)
    })
}

/// The generation jobs answering `message`: in an AI chat the character's reply; in groups and
/// channels one job per AI character the message mentions (id derived from message and
/// character). Job ids are deterministic, so the outbox, the first enqueue and a retried send
/// all name the same jobs.
fn jobs_answering(
    c: &mut db::DbConn,
    kind: ConversationKind,
    message: &MessageRow,
) -> Result<Vec<LlmJob>, db::DbError> {
    let user = message.author_id.unwrap_or(UserId(0));
    let conversation = message.conversation_id;
    match kind {
        ConversationKind::AiChat => Ok(vec![reply_job(
            reply_job_id(message.id),
            JobKind::Reply,
            user,
            conversation,
            message.id,
        )]),
        ConversationKind::Group | ConversationKind::Channel => {
            let mut jobs = Vec::new();
            for id in db::conversations::list_characters(c, conversation)? {
                let character = db::characters::find(c, id)?;
                if !mentions(&message.content, &character.name) {
                    continue;
                }
                let mut job = reply_job(
                    format!("mention-{}-{}", message.id, character.id),
                    JobKind::Reply,
                    user,
                    conversation,
                    message.id,
                );
                job.character_id = Some(character.id);
                jobs.push(job);
            }
            Ok(jobs)
        }
        _ => Ok(Vec::new()),
    }
}

/// In groups and channels, every AI character mentioned in the message answers it through the
/// same job pipeline. Returns the first job id.
async fn enqueue_mentions(
    ctx: &ChatContext,
    conversation: &ConversationRow,
    message: &MessageRow,
) -> Result<Option<String>, ChatError> {
    let (kind, row) = (conversation.kind, message.clone());
    let jobs = db::run(&ctx.db, move |c| jobs_answering(c, kind, &row)).await?;
    let mut first = None;
    for job in jobs {
        ctx.bus.enqueue_job_once(&job, JOB_MEMORY).await?;
        first.get_or_insert(job.job_id);
    }
    Ok(first)
}

/// The job id answering a user message: derived from the message so a retried send never
/// creates a second job, and the worker's writes are idempotent on it.
pub fn reply_job_id(message: MessageId) -> String {
    format!("reply-{message}")
}

/// Enqueues the reply job for `trigger`, once per job id. On a retried send (`created == false`)
/// it tries again unless a reply exists: if the first request crashed between storing the
/// message and enqueueing, the retry enqueues; otherwise the bus remembers the id and does not.
async fn ensure_reply_job(
    ctx: &ChatContext,
    conversation: &ConversationRow,
    trigger: &MessageRow,
    created: bool,
) -> Result<String, ChatError> {
    let job_id = reply_job_id(trigger.id);
    if !created {
        let lookup = job_id.clone();
        let existing = db::run(&ctx.db, move |c| db::messages::find_by_job_id(c, &lookup)).await?;
        if existing.is_some() {
            return Ok(job_id);
        }
    }
    let job = reply_job(
        job_id.clone(),
        JobKind::Reply,
        trigger.author_id.unwrap_or(UserId(0)),
        conversation.id,
        trigger.id,
    );
    ctx.bus.enqueue_job_once(&job, JOB_MEMORY).await?;
    Ok(job_id)
}

/// How long the bus remembers an enqueued job id (longer than any client retries a send).
const JOB_MEMORY: Duration = bus::JOB_MEMORY;

fn reply_job(
    job_id: String,
    kind: JobKind,
    user_id: UserId,
    conversation_id: ConversationId,
    trigger_message_id: MessageId,
) -> LlmJob {
    LlmJob {
        v: JOB_VERSION,
        job_id,
        kind,
        user_id,
        conversation_id: Some(conversation_id),
        trigger_message_id: Some(trigger_message_id),
        story_id: None,
        model: None,
        enqueued_at: chrono::Utc::now(),
        character_id: None,
    }
}

/// Puts an already stored job (see [`db::outbox`]) on the stream, once per job id.
pub async fn enqueue(ctx: &ChatContext, job: &LlmJob) -> Result<(), ChatError> {
    ctx.bus.enqueue_job_once(job, JOB_MEMORY).await?;
    Ok(())
}

/// A reply job (regenerate and friends) for a user message.
pub fn job(
    job_id: String,
    kind: JobKind,
    user_id: UserId,
    conversation_id: ConversationId,
    trigger_message_id: MessageId,
) -> LlmJob {
    reply_job(job_id, kind, user_id, conversation_id, trigger_message_id)
}

pub async fn publish(
    ctx: &ChatContext,
    conversation_id: ConversationId,
    event: ConversationEvent,
) -> Result<(), ChatError> {
    ctx.bus
        .publish(conversation_id, &EventPayload::from(event))
        .await?;
    Ok(())
}

async fn load_view(ctx: &ChatContext, row: MessageRow) -> Result<MessageView, ChatError> {
    db::run(&ctx.db, move |c| {
        // Shared with every member (events): reactions without `mine`.
        let mut views = db::messages::views(c, std::slice::from_ref(&row))?;
        db::messages::annotate(c, &mut views, None)?;
        Ok(views)
    })
    .await?
    .into_iter()
    .next()
    .ok_or(ChatError::Db(db::DbError::NotFound))
}

/// A message of this conversation, or 404.
pub(crate) async fn message_in(
    ctx: &ChatContext,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<MessageRow, ChatError> {
    let row = db::run(&ctx.db, move |c| db::messages::find(c, message_id))
        .await
        .map_err(|e| match e {
            db::DbError::NotFound => ChatError::NotFound(Resource::Message),
            other => other.into(),
        })?;
    if row.conversation_id != conversation_id {
        return Err(ChatError::NotFound(Resource::Message));
    }
    Ok(row)
}

/// Edits one's own message (marks it edited, by whom and when) and publishes `message.edited`.
pub async fn edit(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
    content: &str,
) -> Result<MessageView, ChatError> {
    let content = MessageContent::parse(content, ctx.settings.chat.effective_max_chars())?;
    let (_, member) = access::member_conversation(ctx, conversation_id, actor.id).await?;
    let row = message_in(ctx, conversation_id, message_id).await?;
    // Authors edit their own messages; the conversation's owner also fixes AI replies in place
    // (issue 15: later prompts use the new text).
    let owner_fixes_reply = row.role == MessageRole::Assistant && member.role == MemberRole::Owner;
    if row.author_id != Some(actor.id) && !owner_fixes_reply {
        return Err(ChatError::Forbidden("only the author may edit a message"));
    }
    if row.deleted_at.is_some() {
        return Err(ChatError::Conflict("a deleted message cannot be edited"));
    }
    if row.status == MessageStatus::Streaming {
        return Err(ChatError::Conflict(
            "a reply is still being generated; stop it first",
        ));
    }
    let editor = actor.id;
    let text = content.into_inner();
    let updated = db::run(&ctx.db, move |c| {
        db::messages::edit(c, message_id, &text, editor)
    })
    .await?;
    let view = load_view(ctx, updated).await?;
    publish(
        ctx,
        conversation_id,
        ConversationEvent::MessageEdited {
            message: view.clone(),
        },
    )
    .await?;
    Ok(view)
}

/// Soft-deletes a message (content removed). Authors delete their own; owners and admins of a
/// group or channel may delete anyone's. Publishes `message.deleted`.
pub async fn delete(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<MessageView, ChatError> {
    let (conversation, member) =
        access::member_conversation(ctx, conversation_id, actor.id).await?;
    let row = message_in(ctx, conversation_id, message_id).await?;
    let is_author = row.author_id == Some(actor.id);
    let moderates = member.role.can_manage() && conversation.kind != ConversationKind::Direct;
    // In one's own AI chat the user may delete the AI's replies too.
    let own_ai_reply = conversation.kind == ConversationKind::AiChat && row.author_id.is_none();
    if !(is_author || moderates || own_ai_reply) {
        return Err(ChatError::Forbidden(
            "you may delete only your own messages",
        ));
    }
    let deleted = db::run(&ctx.db, move |c| db::messages::soft_delete(c, message_id)).await?;
    publish(
        ctx,
        conversation_id,
        ConversationEvent::MessageDeleted {
            conversation_id,
            message_id,
        },
    )
    .await?;
    load_view(ctx, deleted).await
}
