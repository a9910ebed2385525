//! The OpenAPI document of the admin API, generated from the handlers' annotations; served at
//! `/openapi.json` and rendered at `/docs`.

use domain::openapi::{BearerAuth, ProblemResponses};
use utoipa::OpenApi;

use crate::routes::{overview, realtime, records, usage, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Chat platform admin API", description = "Users, usage and operational views, for administrators only (401 without a token, 403 for non-admins). Errors use RFC 9457 problem details with a machine `code`. Periods are whole UTC days, `from`/`to` inclusive, at most 366 days."),
    paths(
        users::list_users, users::get_user, users::update_user,
        records::list_user_conversations, records::list_user_messages,
        usage::get_user_usage, usage::export_usage_csv,
        overview::get_overview, realtime::get_realtime,
    ),
    components(schemas(domain::ErrorBody, domain::FieldError)),
    modifiers(&BearerAuth, &ProblemResponses),
    tags(
        (name = "admin-users", description = "Users: search, details, deactivation, roles"),
        (name = "admin-records", description = "A user's conversations and messages"),
        (name = "admin-usage", description = "Token usage per user and CSV export"),
        (name = "admin-stats", description = "Overview and the real-time tier"),
    )
)]
pub struct ApiDoc;
