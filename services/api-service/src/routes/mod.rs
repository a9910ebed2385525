//! The only URL table of the REST API (everything under `/api/v1`). One module per resource.

use actix_web::web;
use platform::ApiError;
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub mod auth;
pub mod characters;
pub mod conversations;
pub mod messages;
pub mod prompts;
pub mod social;
pub mod stories;
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
            .route("/{id}", web::get().to(conversations::get_conversation))
            .route("/{id}", web::patch().to(conversations::update_conversation))
            .route(
                "/{id}",
                web::delete().to(conversations::delete_conversation),
            )
            .route("/{id}/read", web::post().to(conversations::mark_read))
            .route("/{id}/messages", web::get().to(messages::list_messages))
            .route("/{id}/messages", web::post().to(messages::send_message))
            .route(
                "/{id}/messages/{message_id}",
                web::patch().to(messages::edit_message),
            )
            .route(
                "/{id}/messages/{message_id}",
                web::delete().to(messages::delete_message),
            )
            .route("/{id}/regenerate", web::post().to(messages::regenerate))
            .route("/{id}/stop", web::post().to(messages::stop_generation)),
    )
    .service(
        web::scope("/stories")
            .route("", web::get().to(stories::list_stories))
            .route("", web::post().to(stories::create_story))
            .route("/{id}", web::get().to(stories::get_story)),
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

/// Parses a JSON body read as bytes, with the same error mapping as the JSON extractor.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
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
