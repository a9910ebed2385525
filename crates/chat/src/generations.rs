//! Generations — AI replies and stories — and the one rule for who may start and stop them.
//!
//! A job id names what it answers, so a stop request can be checked without any other record:
//! `reply-{message}`, `mention-{message}-{character}`, `regen-{message}-{nonce}` (all answering
//! a user message), `cont-{reply}-{nonce}` (more text onto an AI reply) and `story-{story}`. Both REST and the gateway's `cancel` come through
//! [`stop`]: an unknown job, or one of another conversation, is "not found", and nothing is
//! stored for it.

use db::messages::MessageRow;
use domain::events::{ConversationEvent, MessageView};
use domain::jobs::JobKind;
use domain::{
    CharacterId, ConversationId, ConversationKind, MessageId, MessageRole, MessageStatus, StoryId,
    StoryStatus,
};

use crate::error::{ChatError, Resource};
use crate::{access, messages, Actor, ChatContext};

/// What a job id says it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRef {
    Reply(MessageId),
    Mention(MessageId, CharacterId),
    Regenerate(MessageId, String),
    /// Writes more onto an AI reply: names the reply, not a user message.
    Continue(MessageId, String),
    Story(StoryId),
}

impl JobRef {
    /// Job ids are at most this long; anything longer is not one of ours.
    const MAX_LEN: usize = 96;

    pub fn parse(job_id: &str) -> Option<JobRef> {
        if job_id.len() > Self::MAX_LEN {
            return None;
        }
        let (kind, rest) = job_id.split_once('-')?;
        let num = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        match kind {
            "reply" => num(rest).map(|m| JobRef::Reply(MessageId(m))),
            "mention" => {
                let (m, c) = rest.split_once('-')?;
                Some(JobRef::Mention(MessageId(num(m)?), CharacterId(num(c)?)))
            }
            "regen" | "cont" => {
                let (m, nonce) = rest.split_once('-')?;
                let nonce_ok = !nonce.is_empty()
                    && nonce.len() <= 32
                    && nonce.chars().all(|c| c.is_ascii_hexdigit());
                nonce_ok.then_some(())?;
                let (m, nonce) = (MessageId(num(m)?), nonce.to_owned());
                Some(match kind {
                    "regen" => JobRef::Regenerate(m, nonce),
                    _ => JobRef::Continue(m, nonce),
                })
            }
            "story" => num(rest).map(|s| JobRef::Story(StoryId(s))),
            _ => None,
        }
    }

    pub fn id(&self) -> String {
        match self {
            JobRef::Reply(m) => format!("reply-{m}"),
            JobRef::Mention(m, c) => format!("mention-{m}-{c}"),
            JobRef::Regenerate(m, nonce) => format!("regen-{m}-{nonce}"),
            JobRef::Continue(m, nonce) => format!("cont-{m}-{nonce}"),
            JobRef::Story(s) => format!("story-{s}"),
        }
    }

    /// The message a reply job answers — for a continue, the reply it extends (`None` for
    /// stories).
    pub fn trigger(&self) -> Option<MessageId> {
        match self {
            JobRef::Reply(m)
            | JobRef::Mention(m, _)
            | JobRef::Regenerate(m, _)
            | JobRef::Continue(m, _) => Some(*m),
            JobRef::Story(_) => None,
        }
    }
}

/// Who may stop a reply: the author of the message it answers, and the conversation's owner
/// and admins (in an AI chat the owner is its one user).
fn may_stop_reply(actor: &Actor, role: domain::MemberRole, trigger: &MessageRow) -> bool {
    trigger.author_id == Some(actor.id) || role.can_manage()
}

/// Stops a reply in `conversation_id`: the one named by `job_id`, or else the one streaming.
/// Returns the stopped job's id.
pub async fn stop(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    job_id: Option<String>,
) -> Result<String, ChatError> {
    let (_, member) = access::member_conversation(ctx, conversation_id, actor.id).await?;
    let job_id = match job_id {
        Some(job_id) => job_id,
        None => {
            let streaming = db::run(&ctx.db, move |c| {
                db::messages::last_assistant_message(c, conversation_id)
            })
            .await?;
            streaming
                .filter(|m| m.status == MessageStatus::Streaming)
                .and_then(|m| m.job_id)
                .ok_or(ChatError::Conflict("no reply is being generated"))?
        }
    };
    let job = JobRef::parse(&job_id)
        .filter(|j| j.trigger().is_some())
        .ok_or(ChatError::NotFound(Resource::Generation))?;
    let (lookup, trigger_id) = (job_id.clone(), job.trigger());
    let (reply, trigger, greeting) = db::run(&ctx.db, move |c| {
        let reply = db::messages::find_by_job_id(c, &lookup)?;
        let find = |c: &mut db::DbConn, id: MessageId| match db::messages::find(c, id) {
            Ok(row) => Ok(Some(row)),
            Err(db::DbError::NotFound) => Ok(None),
            Err(e) => Err(e),
        };
        let mut trigger = match trigger_id {
            Some(id) => find(c, id)?,
            None => None,
        };
        // A continue names the reply it extends: the rule is about the message that answers.
        if let Some(extended) = trigger.clone().filter(|t| t.role == MessageRole::Assistant) {
            trigger = match extended.reply_to_id {
                Some(id) => find(c, id)?.filter(|t| t.conversation_id == extended.conversation_id),
                // A greeting answers nobody: only owners and admins may stop its continue.
                None => None,
            };
            if trigger.is_none() && extended.conversation_id == conversation_id {
                return Ok((reply, None, true));
            }
        }
        Ok((reply, trigger, false))
    })
    .await?;
    if greeting {
        if !member.role.can_manage() {
            return Err(ChatError::Forbidden(
                "only the owner or an admin may stop this reply",
            ));
        }
        if reply.is_some_and(|r| r.status != MessageStatus::Streaming) {
            return Err(ChatError::Conflict("this reply is already finished"));
        }
        ctx.bus.request_cancel(&job_id).await?;
        return Ok(job_id);
    }
    let trigger = trigger
        .filter(|t| t.conversation_id == conversation_id && t.role == MessageRole::User)
        .filter(|_| {
            reply
                .as_ref()
                .is_none_or(|r| r.conversation_id == conversation_id)
        })
        .ok_or(ChatError::NotFound(Resource::Generation))?;
    if !may_stop_reply(actor, member.role, &trigger) {
        return Err(ChatError::Forbidden(
            "only the author of the message, the owner or an admin may stop this reply",
        ));
    }
    if reply.is_some_and(|r| r.status != MessageStatus::Streaming) {
        return Err(ChatError::Conflict("this reply is already finished"));
    }
    ctx.bus.request_cancel(&job_id).await?;
    Ok(job_id)
}

/// Stops a story being written. Only its owner may; others are told it does not exist.
pub async fn stop_story(
    ctx: &ChatContext,
    actor: &Actor,
    story_id: StoryId,
) -> Result<String, ChatError> {
    let story = db::run(&ctx.db, move |c| db::stories::find(c, story_id))
        .await
        .map_err(|e| match e {
            db::DbError::NotFound => ChatError::NotFound(Resource::Story),
            other => other.into(),
        })?;
    if story.user_id != actor.id {
        return Err(ChatError::NotFound(Resource::Story));
    }
    if !matches!(story.status, StoryStatus::Pending | StoryStatus::Streaming) {
        return Err(ChatError::Conflict("this story is already finished"));
    }
    let job_id = story.job_id.unwrap_or_else(|| JobRef::Story(story_id).id());
    ctx.bus.request_cancel(&job_id).await?;
    Ok(job_id)
}

/// Who may regenerate, swipe or continue an AI reply: the author of the message it answers,
/// and the conversation's owner and admins (in an AI chat the owner is its one user).
fn may_rework_reply(
    actor: &Actor,
    role: domain::MemberRole,
    answered: Option<&MessageRow>,
) -> bool {
    role.can_manage() || answered.is_some_and(|m| m.author_id == Some(actor.id))
}

/// The conversation's last AI reply on the active path, checked for reworking it (regenerate,
/// continue): it must be the path's last message, finished, and the actor allowed.
struct LastReply {
    reply: MessageRow,
    /// The user message it answers (`None` for a greeting).
    answered: Option<MessageRow>,
}

async fn last_reply(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: Option<MessageId>,
) -> Result<LastReply, ChatError> {
    let (conversation, member) =
        access::member_conversation(ctx, conversation_id, actor.id).await?;
    if conversation.kind == ConversationKind::Direct {
        return Err(ChatError::Conflict(
            "only conversations with AI characters have AI replies",
        ));
    }
    let (leaf, streaming, target) = db::run(&ctx.db, move |c| {
        let leaf = db::tree::leaf(c, conversation_id)?;
        let streaming = db::tree::streaming_on_path(c, conversation_id)?;
        let target = match message_id.or(leaf) {
            Some(id) => match db::messages::find(c, id) {
                Ok(row) => Some(row),
                Err(db::DbError::NotFound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        Ok((leaf, streaming, target))
    })
    .await?;
    let reply = match (message_id, target) {
        (Some(_), Some(row)) if row.conversation_id == conversation_id => row,
        (Some(_), _) => return Err(ChatError::NotFound(Resource::Message)),
        (None, Some(row)) => row,
        (None, None) => return Err(ChatError::Conflict("nothing to regenerate")),
    };
    if reply.role != MessageRole::Assistant || reply.deleted_at.is_some() {
        return Err(ChatError::Conflict("the message is not an AI reply"));
    }
    if streaming {
        return Err(ChatError::Conflict(
            "a reply is still being generated; stop it first",
        ));
    }
    if leaf != Some(reply.id) {
        return Err(ChatError::Conflict(
            "only the last AI reply can be reworked",
        ));
    }
    let answered = match reply.reply_to_id {
        Some(id) => {
            let row = db::run(&ctx.db, move |c| db::messages::find(c, id)).await?;
            Some(row).filter(|m| m.deleted_at.is_none() && m.role == MessageRole::User)
        }
        None => None,
    };
    if !may_rework_reply(actor, member.role, answered.as_ref()) {
        return Err(ChatError::Forbidden(
            "only the author of the message it answers, the owner or an admin may do this",
        ));
    }
    Ok(LastReply { reply, answered })
}

/// What a regenerate started: the job and the new variant (a `streaming` placeholder).
#[derive(Debug, Clone)]
pub struct VariantStarted {
    pub job_id: String,
    pub message: MessageView,
}

/// Adds a variant to the last AI reply (issue 15): a sibling answering the same user message,
/// streamed like any reply, becomes the active one; the older variants stay selectable. Past
/// the per-turn cap the oldest inactive variant is dropped. Publishes `message.variant_added`.
pub async fn regenerate(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
) -> Result<VariantStarted, ChatError> {
    let LastReply { reply, answered } = last_reply(ctx, actor, conversation_id, None).await?;
    let answered = answered.ok_or(ChatError::Conflict(
        "this reply answers no message; choose among the greetings instead",
    ))?;
    let job_id = JobRef::Regenerate(answered.id, uuid::Uuid::new_v4().simple().to_string()).id();
    let mut job = messages::job(
        job_id.clone(),
        JobKind::Variant,
        actor.id,
        conversation_id,
        answered.id,
    );
    job.character_id = reply.character_id;
    let cap = ctx.settings.chat.max_variants_per_turn.max(2);
    let (stored, lookup) = (job.clone(), job_id.clone());
    let (placeholder, fork) = db::run(&ctx.db, move |c| {
        db::transaction(c, |c| {
            // Room for one more: drop the oldest inactive variants past the cap.
            let siblings = db::tree::siblings(c, &reply)?;
            let excess = (siblings.len() + 1).saturating_sub(cap);
            for old in siblings.iter().filter(|m| !m.on_path).take(excess) {
                db::messages::soft_delete(c, old.id)?;
            }
            // The placeholder exists before the worker starts, so the variant has an id to
            // announce and select; the worker's writes update it (keyed by the job id).
            let placeholder = db::messages::upsert_assistant_reply(
                c,
                db::messages::AssistantReply {
                    conversation_id,
                    character_id: reply.character_id,
                    job_id: lookup,
                    reply_to_id: Some(answered.id),
                    content: String::new(),
                    status: MessageStatus::Streaming,
                    model: None,
                    prompt_tokens: None,
                    completion_tokens: None,
                },
            )?;
            db::tree::switch_to(c, &placeholder)?;
            db::outbox::insert(c, &stored)?;
            let mut views = db::messages::views(c, std::slice::from_ref(&placeholder))?;
            db::tree::annotate_forks(c, conversation_id, &mut views, false)?;
            let view = views.pop().ok_or(db::DbError::NotFound)?;
            let fork = view
                .fork
                .unwrap_or(domain::events::ForkInfo { index: 0, count: 1 });
            Ok((view, fork))
        })
    })
    .await?;
    messages::publish(
        ctx,
        conversation_id,
        ConversationEvent::VariantAdded {
            conversation_id,
            message: placeholder.clone(),
            index: fork.index,
            count: fork.count,
        },
    )
    .await?;
    messages::enqueue(ctx, &job).await?;
    Ok(VariantStarted {
        job_id,
        message: placeholder,
    })
}

/// Streams more text onto the end of the last AI reply (issue 15), through the same job, event
/// and resume path as any reply: `generation.started`, `delta`s (the added text) and
/// `message.completed` with the whole reply. Returns the job id.
pub async fn continue_reply(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<String, ChatError> {
    let LastReply { reply, .. } = last_reply(ctx, actor, conversation_id, Some(message_id)).await?;
    let job_id = JobRef::Continue(reply.id, uuid::Uuid::new_v4().simple().to_string()).id();
    let mut job = messages::job(
        job_id.clone(),
        JobKind::Continue,
        actor.id,
        conversation_id,
        reply.id,
    );
    job.character_id = reply.character_id;
    let (stored, lookup) = (job.clone(), job_id.clone());
    let claimed = db::run(&ctx.db, move |c| {
        db::transaction(c, |c| {
            // The reply is the continue job's row from now on: it streams (so nothing else
            // reworks it meanwhile) and the worker's writes find it by the new job id.
            let claimed = db::messages::claim_for_job(c, reply.id, &lookup)?;
            if claimed {
                db::outbox::insert(c, &stored)?;
            }
            Ok(claimed)
        })
    })
    .await?;
    if !claimed {
        return Err(ChatError::Conflict(
            "a reply is still being generated; stop it first",
        ));
    }
    messages::enqueue(ctx, &job).await?;
    Ok(job_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_round_trip_and_strangers_do_not_parse() {
        for job in [
            JobRef::Reply(MessageId(7)),
            JobRef::Mention(MessageId(7), CharacterId(3)),
            JobRef::Regenerate(MessageId(7), "ab12".into()),
            JobRef::Continue(MessageId(7), "cd34".into()),
            JobRef::Story(StoryId(4)),
        ] {
            assert_eq!(JobRef::parse(&job.id()), Some(job));
        }
        for bad in [
            "",
            "reply-",
            "reply-x",
            "reply--1",
            "reply-0",
            "regen-7-",
            "regen-7-zz",
            "story",
            "other-1",
            "mention-7",
        ] {
            assert_eq!(JobRef::parse(bad), None, "{bad}");
        }
        assert_eq!(JobRef::parse(&format!("reply-{}", "9".repeat(200))), None);
    }
}
