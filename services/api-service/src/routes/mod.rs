//! The only URL table of the REST API (everything under `/api/v1`). One module per resource.

use actix_web::web;
use platform::ApiError;
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub mod auth;
pub mod blocks;
pub mod characters;
pub mod chat_settings;
pub mod conversation_views;
pub mod conversations;
pub mod friends;
pub mod lorebooks;
pub mod messages;
pub mod mutes;
pub mod notifications;
pub mod personas;
pub mod pins;
pub mod prompts;
pub mod reactions;
pub mod servers;
pub mod settings;
pub mod social;
pub mod stories;
pub mod threads;
pub mod users;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/auth")
            .route("/register", web::post().to(auth::register))
            .route("/login", web::post().to(auth::login))
            .route("/refresh", web::post().to(auth::refresh))
            .route("/logout", web::post().to(auth::logout))
            .route("/me", web::get().to(auth::me)),
    )
    .service(
        web::scope("/users")
            .route("/me", web::get().to(users::get_me))
            .route("/me", web::patch().to(users::update_me))
            .route("/me/settings", web::get().to(settings::get_settings))
            .route("/me/settings", web::patch().to(settings::update_settings))
            .route("/{id}", web::get().to(users::get_user)),
    )
    .service(
        web::scope("/characters")
            .route("", web::get().to(characters::list_characters))
            .route("", web::post().to(characters::create_character))
            .route("/import", web::post().to(characters::import_character))
            .route("/{id}", web::get().to(characters::get_character))
            .route("/{id}", web::patch().to(characters::update_character))
            .route("/{id}", web::delete().to(characters::delete_character))
            .route("/{id}/export", web::get().to(characters::export_character)),
    )
    .service(
        web::scope("/prompts")
            .route("", web::get().to(prompts::list_prompts))
            .route("", web::post().to(prompts::create_prompt))
            .route("/order", web::put().to(prompts::reorder_prompts))
            .route("/{id}", web::patch().to(prompts::update_prompt))
            .route("/{id}", web::delete().to(prompts::delete_prompt)),
    )
    .service(
        web::scope("/conversations")
            .route("", web::get().to(conversations::list_conversations))
            .route("", web::post().to(conversations::create_conversation))
            .route("/public", web::get().to(social::list_public_groups))
            .route("/{id}", web::get().to(conversations::get_conversation))
            .route("/{id}", web::patch().to(conversations::update_conversation))
            .route(
                "/{id}",
                web::delete().to(conversations::delete_conversation),
            )
            .route("/{id}/read", web::post().to(conversations::mark_read))
            .route("/{id}/pin", web::put().to(conversations::pin_conversation))
            .route(
                "/{id}/pin",
                web::delete().to(conversations::unpin_conversation),
            )
            .route(
                "/{id}/archive",
                web::put().to(conversations::archive_conversation),
            )
            .route(
                "/{id}/archive",
                web::delete().to(conversations::unarchive_conversation),
            )
            .route("/{id}/messages", web::get().to(messages::list_messages))
            .route("/{id}/messages", web::post().to(messages::send_message))
            .route(
                "/{id}/messages/search",
                web::get().to(messages::search_conversation),
            )
            .route(
                "/{id}/messages/{message_id}",
                web::patch().to(messages::edit_message),
            )
            .route(
                "/{id}/messages/{message_id}",
                web::delete().to(messages::delete_message),
            )
            .route(
                "/{id}/messages/{message_id}/active_variant",
                web::put().to(messages::select_variant),
            )
            .route(
                "/{id}/messages/{message_id}/rerun",
                web::post().to(messages::rerun_message),
            )
            .route(
                "/{id}/messages/{message_id}/continue",
                web::post().to(messages::continue_message),
            )
            .route(
                "/{id}/messages/{message_id}/context",
                web::get().to(chat_settings::get_message_context),
            )
            .route(
                "/{id}/settings",
                web::get().to(chat_settings::get_chat_settings),
            )
            .route(
                "/{id}/settings",
                web::patch().to(chat_settings::update_chat_settings),
            )
            .route(
                "/{id}/persona",
                web::get().to(chat_settings::get_conversation_persona),
            )
            .route(
                "/{id}/persona",
                web::put().to(chat_settings::lock_conversation_persona),
            )
            .route(
                "/{id}/lorebooks",
                web::get().to(lorebooks::list_attached_lorebooks),
            )
            .route(
                "/{id}/lorebooks",
                web::post().to(lorebooks::attach_lorebook),
            )
            .route(
                "/{id}/lorebooks/{lorebook_id}",
                web::delete().to(lorebooks::detach_lorebook),
            )
            .route(
                "/{id}/messages/{message_id}/reactions/{emoji}",
                web::put().to(reactions::add_reaction),
            )
            .route(
                "/{id}/messages/{message_id}/reactions/{emoji}",
                web::delete().to(reactions::remove_reaction),
            )
            .route(
                "/{id}/messages/{message_id}/thread",
                web::get().to(threads::get_thread),
            )
            .route(
                "/{id}/messages/{message_id}/thread/read",
                web::post().to(threads::mark_thread_read),
            )
            .route("/{id}/mute", web::put().to(mutes::mute_conversation))
            .route("/{id}/mute", web::delete().to(mutes::unmute_conversation))
            .route("/{id}/pins", web::get().to(pins::list_pins))
            .route("/{id}/pins/{message_id}", web::put().to(pins::pin_message))
            .route(
                "/{id}/pins/{message_id}",
                web::delete().to(pins::unpin_message),
            )
            .route(
                "/{id}/branch",
                web::post().to(conversations::branch_conversation),
            )
            .route("/{id}/regenerate", web::post().to(messages::regenerate))
            .route("/{id}/stop", web::post().to(messages::stop_generation))
            .route("/{id}/members", web::get().to(social::list_members))
            .route("/{id}/members", web::post().to(social::add_member))
            .route(
                "/{id}/members/{user_id}",
                web::patch().to(social::change_member_role),
            )
            .route(
                "/{id}/members/{user_id}",
                web::delete().to(social::remove_member),
            )
            .route("/{id}/join", web::post().to(social::join_group))
            .route("/{id}/characters", web::post().to(social::add_character))
            .route(
                "/{id}/characters/{character_id}",
                web::delete().to(social::remove_character),
            ),
    )
    .service(web::scope("/messages").route("/search", web::get().to(messages::search_mine)))
    .service(
        web::scope("/notifications")
            .route("", web::get().to(notifications::list_notifications))
            .route(
                "/unread_count",
                web::get().to(notifications::unread_notifications),
            )
            .route(
                "/read",
                web::post().to(notifications::mark_notifications_read),
            ),
    )
    .service(
        web::scope("/friends")
            .route("", web::get().to(friends::list_friends))
            .route("/requests", web::get().to(friends::list_requests))
            .route("/requests", web::post().to(friends::send_request))
            .route(
                "/requests/{id}/accept",
                web::post().to(friends::accept_request),
            )
            .route(
                "/requests/{id}/reject",
                web::post().to(friends::reject_request),
            )
            .route("/requests/{id}", web::delete().to(friends::cancel_request))
            .route("/{user_id}", web::delete().to(friends::unfriend)),
    )
    .service(
        web::scope("/blocks")
            .route("", web::get().to(blocks::list_blocks))
            .route("", web::post().to(blocks::block_user))
            .route("/{user_id}", web::delete().to(blocks::unblock_user)),
    )
    .service(
        web::scope("/servers")
            .route("", web::get().to(servers::list_my_servers))
            .route("", web::post().to(servers::create_server))
            .route("/public", web::get().to(servers::list_public_servers))
            .route("/join", web::post().to(servers::join_by_invite))
            .route("/{id}", web::get().to(servers::get_server))
            .route("/{id}", web::patch().to(servers::update_server))
            .route("/{id}", web::delete().to(servers::delete_server))
            .route("/{id}/join", web::post().to(servers::join_server))
            .route("/{id}/leave", web::post().to(servers::leave_server))
            .route("/{id}/members", web::get().to(servers::list_server_members))
            .route(
                "/{id}/members/{user_id}",
                web::patch().to(servers::change_server_role),
            )
            .route(
                "/{id}/members/{user_id}",
                web::delete().to(servers::kick_member),
            )
            .route("/{id}/channels", web::get().to(servers::list_channels))
            .route("/{id}/channels", web::post().to(servers::create_channel))
            .route(
                "/{id}/channels/{channel_id}",
                web::patch().to(servers::update_channel),
            )
            .route(
                "/{id}/channels/{channel_id}",
                web::delete().to(servers::delete_channel),
            ),
    )
    .service(
        web::scope("/personas")
            .route("", web::get().to(personas::list_personas))
            .route("", web::post().to(personas::create_persona))
            .route("/{id}", web::get().to(personas::get_persona))
            .route("/{id}", web::patch().to(personas::update_persona))
            .route("/{id}", web::delete().to(personas::delete_persona))
            .route(
                "/{id}/default",
                web::post().to(personas::make_default_persona),
            ),
    )
    .service(
        web::scope("/lorebooks")
            .route("", web::get().to(lorebooks::list_lorebooks))
            .route("", web::post().to(lorebooks::create_lorebook))
            .route("/test", web::post().to(lorebooks::test_lorebook))
            .route("/{id}", web::get().to(lorebooks::get_lorebook))
            .route("/{id}", web::put().to(lorebooks::update_lorebook))
            .route("/{id}", web::delete().to(lorebooks::delete_lorebook)),
    )
    .service(
        web::scope("/stories")
            .route("", web::get().to(stories::list_stories))
            .route("", web::post().to(stories::create_story))
            .route("/{id}", web::get().to(stories::get_story))
            .route("/{id}/stop", web::post().to(stories::stop_story)),
    );
}

/// A page of a list with limit/offset paging.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub limit: i64,
    pub offset: i64,
}

impl<T> Page<T> {
    pub const DEFAULT_LIMIT: i64 = 20;
    pub const MAX_LIMIT: i64 = 100;

    pub fn new(items: Vec<T>, limit: i64, offset: i64) -> Self {
        Self {
            items,
            limit,
            offset,
        }
    }

    /// Validates `limit` (1–100, default 20) and `offset` (≥ 0).
    pub fn bounds(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ApiError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation(
                "limit",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            ));
        }
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::validation("offset", "must not be negative"));
        }
        Ok((limit, offset))
    }
}

/// The active user `id`, or a 422 naming `user_id` (deactivated accounts count as absent). The
/// outer error is the database's, the inner one the client's — for use inside `db::run`.
pub fn active_user(
    conn: &mut db::DbConn,
    id: domain::UserId,
) -> Result<Result<db::users::UserRow, ApiError>, db::DbError> {
    match db::users::find(conn, id) {
        Ok(user) if user.is_active => Ok(Ok(user)),
        Ok(_) | Err(db::DbError::NotFound) => {
            Ok(Err(ApiError::validation("user_id", "no such user")))
        }
        Err(e) => Err(e),
    }
}

/// Parses a JSON body read as bytes, with the same error mapping as the JSON extractor.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Every body of this API is an object; serde would fill a struct from an array too.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
    {
        return Err(ApiError::validation("body", "must be a JSON object"));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::validation("body", e.to_string())
        } else {
            ApiError::bad_request(format!("malformed JSON: {e}"))
        }
    })
}

/// For PATCH fields where `null` (clear) differs from absent (leave as is): absent → `None`,
/// `null` → `Some(None)`, a value → `Some(Some(v))`. Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
