//! The client operations besides subscriptions: send, cancel, typing. Each goes through the
//! same use cases as REST (`chat::…`), so there is one messaging path.

use bytes::Bytes;
use chat::messages::SendInput;
use chat::Actor;
use domain::events::{ConversationEvent, EventPayload};
use domain::frames::ServerFrame;
use domain::ConversationId;
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
        Err(e) => protocol::problem_frame(id, e),
    }
}

/// `cancel`: asks the worker running the reply to stop, under the same rule as REST's stop
/// (`chat::generations::stop`). Without a job id, the conversation's reply still streaming is
/// meant.
pub async fn cancel(
    gw: &Gateway,
    user: &AuthUser,
    id: Option<String>,
    conversation: ConversationId,
    job_id: Option<String>,
) -> Bytes {
    let actor = Actor::from(user);
    match chat::generations::stop(&gw.chat, &actor, conversation, job_id).await {
        Ok(job_id) => protocol::server_frame(&ServerFrame::CancelRequested {
            id,
            conversation_id: conversation,
            job_id,
        }),
        Err(e) => protocol::problem_frame(id, e),
    }
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
