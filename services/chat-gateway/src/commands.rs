//! The client operations besides subscriptions: send, cancel, typing. Each goes through the
//! same use cases as REST (`chat::…`), so there is one messaging path.

use bytes::Bytes;
use chat::messages::SendInput;
use chat::Actor;
use domain::events::{ConversationEvent, EventPayload};
use domain::frames::ServerFrame;
use domain::{ConversationId, MessageId, MessageStatus};
use platform::{ApiError, AuthUser};

use crate::protocol;
use crate::state::Gateway;

/// `send`: stores the message through `chat::messages::send` (validation, membership, block
/// rules, the cross-replica send rate limit, idempotency on `client_id`, `message.created`, the
/// AI job) and answers with `ack` carrying the stored message.
pub async fn send(
    gw: &Gateway,
    user: &AuthUser,
    id: Option<String>,
    conversation: ConversationId,
    input: SendInput,
) -> Bytes {
    let actor = Actor::from(user);
    match chat::messages::send(&gw.chat, &actor, conversation, input).await {
        Ok(outcome) => protocol::server_frame(&ServerFrame::Ack {
            id,
            message: outcome.message,
            job_id: outcome.job_id,
        }),
        Err(e) => protocol::error_frame(id, e.code, e.detail),
    }
}

/// `cancel`: asks the worker running the reply to stop. Without a job id, the conversation's
/// reply still streaming is meant.
pub async fn cancel(
    gw: &Gateway,
    user: &AuthUser,
    id: Option<String>,
    conversation: ConversationId,
    job_id: Option<String>,
) -> Bytes {
    match find_and_cancel(gw, user, conversation, job_id).await {
        Ok(job_id) => protocol::server_frame(&ServerFrame::CancelRequested {
            id,
            conversation_id: conversation,
            job_id,
        }),
        Err(e) => protocol::error_frame(id, e.code, e.detail),
    }
}

async fn find_and_cancel(
    gw: &Gateway,
    user: &AuthUser,
    conversation: ConversationId,
    job_id: Option<String>,
) -> Result<String, ApiError> {
    chat::access::member_conversation(&gw.chat, conversation, user.id).await?;
    let job = match job_id {
        Some(job) => {
            // A member of one conversation must not stop replies in another: the job must
            // belong to this conversation, by its reply or by its triggering message.
            let lookup = job.clone();
            let belongs = db::run(&gw.chat.db, move |c| {
                if let Some(reply) = db::messages::find_by_job_id(c, &lookup)? {
                    return Ok(reply.conversation_id == conversation);
                }
                let trigger = lookup
                    .strip_prefix("reply-")
                    .and_then(|n| n.parse::<i64>().ok());
                match trigger {
                    Some(n) => match db::messages::find(c, MessageId(n)) {
                        Ok(m) => Ok(m.conversation_id == conversation),
                        Err(db::DbError::NotFound) => Ok(false),
                        Err(e) => Err(e),
                    },
                    None => Ok(false),
                }
            })
            .await?;
            if !belongs {
                return Err(ApiError::not_found(
                    "no such generation in this conversation",
                ));
            }
            job
        }
        None => {
            let last = db::run(&gw.chat.db, move |c| {
                db::messages::last_assistant_message(c, conversation)
            })
            .await?;
            match last {
                Some(m) if m.status == MessageStatus::Streaming => m
                    .job_id
                    .ok_or_else(|| ApiError::not_found("no reply in progress"))?,
                _ => return Err(ApiError::not_found("no reply in progress")),
            }
        }
    };
    gw.chat.bus.request_cancel(&job).await?;
    Ok(job)
}

/// `typing`: published on the conversation log as `typing` so every replica delivers it in
/// order with the messages. Callers throttle it; membership is checked unless the socket is
/// subscribed already (which was checked at subscribe).
pub async fn typing(
    gw: &Gateway,
    user: &AuthUser,
    conversation: ConversationId,
    subscribed: bool,
) -> Result<(), ApiError> {
    if !subscribed {
        chat::access::member_conversation(&gw.chat, conversation, user.id).await?;
    }
    let event = EventPayload::from(ConversationEvent::Typing {
        user_id: user.id,
        username: user.username.clone(),
    });
    gw.chat.bus.publish(conversation, &event).await?;
    Ok(())
}
