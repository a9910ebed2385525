//! The only URL table of the REST API (everything under `/api/v1`). One module per resource.

use actix_web::web;
use platform::ApiError;
use serde::{de::DeserializeOwned, Deserialize, Deserializer};

pub mod auth;
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
    );
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
