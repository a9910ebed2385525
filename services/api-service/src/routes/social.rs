//! People talking to people: direct messages and group rooms (the social issue fills this in).

use actix_web::HttpResponse;
use platform::{ApiError, AuthUser};

use crate::routes::conversations::CreateConversationRequest;
use crate::state::AppState;

/// Creates a `direct` or `group` conversation.
pub async fn create_human_conversation(
    _state: &AppState,
    _user: &AuthUser,
    _body: CreateConversationRequest,
) -> Result<HttpResponse, ApiError> {
    Err(ApiError::validation(
        "kind",
        "only ai_chat conversations can be created yet",
    ))
}
