//! Stories (seed 000): a story written from a prompt and optional characters, through the same
//! job pipeline as chat replies.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use db::stories::{NewStoryRow, StoryRow};
use domain::jobs::{JobKind, LlmJob, JOB_VERSION};
use domain::{
    bounded_text, bounded_text_opt, CharacterId, StoryId, StoryStatus, ValidationError, Visibility,
};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::{users::utc, Page};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct StoryView {
    #[schema(value_type = i64)]
    pub id: StoryId,
    pub title: String,
    pub prompt: String,
    pub content: String,
    #[schema(value_type = Vec<i64>)]
    pub character_ids: Vec<CharacterId>,
    #[schema(value_type = String, example = "pending")]
    pub status: StoryStatus,
    pub job_id: Option<String>,
    pub model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&StoryRow> for StoryView {
    fn from(row: &StoryRow) -> Self {
        Self {
            id: row.id,
            title: row.title.clone(),
            prompt: row.prompt.clone(),
            content: row.content.clone(),
            character_ids: row.character_ids.clone(),
            status: row.status,
            job_id: row.job_id.clone(),
            model: row.model.clone(),
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStoryRequest {
    /// What the story is about.
    pub prompt: String,
    pub title: Option<String>,
    /// Characters that appear in it (yours or public ones), at most 8.
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    pub character_ids: Vec<CharacterId>,
    /// `provider/model`; default is the deployment's.
    pub model: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StoryListQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/stories", tag = "stories", security(("bearer" = [])),
    request_body = CreateStoryRequest, responses((status = 202, body = StoryView), (status = 422), (status = 429)))]
pub async fn create_story(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<CreateStoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let prompt = bounded_text("prompt", &body.prompt, 1, 4000)?;
    let title = bounded_text_opt("title", body.title.as_deref(), 1, 200)?;
    if body.character_ids.len() > 8 {
        return Err(ValidationError::new("character_ids", "at most 8 characters").into());
    }
    let model = body
        .model
        .map(|m| bounded_text("model", &m, 3, 100))
        .transpose()?;
    crate::rate_limit::enforce(
        &state.bus,
        &format!("story:user:{}", user.id),
        state.settings.rate_limit.sends_per_minute,
        std::time::Duration::from_secs(60),
    )
    .await?;
    let me = user.id;
    let ids = body.character_ids;
    let job_model = model.clone().unwrap_or_default();
    let (story, job) = db::run(&state.db, move |c| {
        for id in &ids {
            let character = db::characters::find(c, *id)?;
            if character.owner_id != me && character.visibility != Visibility::Public {
                return Err(db::DbError::NotFound);
            }
        }
        let title = title.unwrap_or_else(|| prompt.chars().take(60).collect());
        // The story and its job are one transaction (the outbox, issue #14): an accepted story
        // is written even if Redis loses the job.
        db::transaction(c, |c| {
            let story = db::stories::insert(
                c,
                NewStoryRow {
                    user_id: me,
                    title,
                    prompt,
                    character_ids: ids,
                },
            )?;
            let job_id = format!("story-{}", story.id);
            let story = db::stories::set_job(c, story.id, &job_id, &job_model)?;
            let job = LlmJob {
                v: JOB_VERSION,
                job_id,
                kind: JobKind::Story,
                user_id: me,
                conversation_id: None,
                trigger_message_id: None,
                story_id: Some(story.id),
                model,
                enqueued_at: Utc::now(),
                character_id: None,
            };
            db::outbox::insert(c, &job)?;
            Ok((story, job))
        })
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ValidationError::new("character_ids", "no such character").into(),
        other => ApiError::from(other),
    })?;
    state.bus.enqueue_job_once(&job, bus::JOB_MEMORY).await?;
    Ok(HttpResponse::Accepted().json(StoryView::from(&story)))
}

#[utoipa::path(get, path = "/api/v1/stories", tag = "stories", security(("bearer" = [])),
    params(StoryListQuery), responses((status = 200, body = Page<StoryView>)))]
pub async fn list_stories(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<StoryListQuery>,
) -> Result<web::Json<Page<StoryView>>, ApiError> {
    let (limit, offset) = Page::<StoryView>::bounds(query.limit, query.offset)?;
    let me = user.id;
    let rows = db::run(&state.db, move |c| {
        db::stories::list_for_user(c, me, limit, offset)
    })
    .await?;
    Ok(web::Json(Page::new(
        rows.iter().map(StoryView::from).collect(),
        limit,
        offset,
    )))
}

#[utoipa::path(get, path = "/api/v1/stories/{id}", tag = "stories", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = StoryView), (status = 404)))]
pub async fn get_story(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<StoryView>, ApiError> {
    let id = StoryId(path.into_inner());
    let row = db::run(&state.db, move |c| db::stories::find(c, id)).await?;
    if row.user_id != user.id && !user.is_admin() {
        return Err(ApiError::not_found("story not found"));
    }
    Ok(web::Json(StoryView::from(&row)))
}

#[utoipa::path(post, path = "/api/v1/stories/{id}/stop", tag = "stories", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 202, body = crate::routes::messages::JobAccepted), (status = 404),
              (status = 409, description = "the story is already finished")))]
pub async fn stop_story(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = StoryId(path.into_inner());
    let job_id =
        chat::generations::stop_story(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(HttpResponse::Accepted().json(crate::routes::messages::JobAccepted { job_id }))
}
