//! AI characters: the card (description, personality, scenario, greetings, example dialogue,
//! system prompt, post-history instructions, tags, extensions), visibility, Character Card V2
//! import/export as JSON or PNG.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use db::characters::{CharacterChanges, CharacterRow, NewCharacterRow};
use domain::{
    bounded_text, bounded_text_opt, CharacterId, ErrorCode, HttpUrl, UserId, ValidationError,
    Visibility,
};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::cards::{self, CardFields};
use crate::routes::{double_option, users::utc, Page};
use crate::state::AppState;

/// Longest text field of a card; cards with long lore are common.
const LONG_TEXT: usize = 20_000;
const MAX_LIST_ITEMS: usize = 32;
const MAX_EXTENSIONS_BYTES: usize = 64 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct CharacterView {
    #[schema(value_type = i64)]
    pub id: CharacterId,
    #[schema(value_type = i64)]
    pub owner_id: UserId,
    pub name: String,
    pub description: String,
    pub personality: String,
    pub scenario: String,
    pub greeting: String,
    pub alternate_greetings: Vec<String>,
    pub example_dialogue: String,
    pub system_prompt: String,
    pub post_history_instructions: String,
    pub creator_notes: String,
    pub tags: Vec<String>,
    pub avatar_url: Option<String>,
    #[schema(value_type = String, example = "private")]
    pub visibility: Visibility,
    /// `provider/model` this character prefers, e.g. `anthropic/claude-3-5-haiku-latest`.
    pub model_preference: Option<String>,
    /// The card's `extensions` object, kept as imported.
    #[schema(value_type = Object)]
    pub extensions: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The stored extensions blob: `{"extensions": …, "card_extra": …, "card_top": …}`.
fn blob(row_extensions: &str) -> Value {
    serde_json::from_str(row_extensions).unwrap_or_else(|_| json!({}))
}

impl CharacterView {
    pub fn from_row(row: &CharacterRow) -> Self {
        let stored = blob(&row.extensions);
        Self {
            id: row.id,
            owner_id: row.owner_id,
            name: row.name.clone(),
            description: row.description.clone(),
            personality: row.personality.clone(),
            scenario: row.scenario.clone(),
            greeting: row.greeting.clone(),
            alternate_greetings: row.alternate_greetings.clone(),
            example_dialogue: row.example_dialogue.clone(),
            system_prompt: row.system_prompt.clone(),
            post_history_instructions: row.post_history_instructions.clone(),
            creator_notes: row.creator_notes.clone(),
            tags: row.tags.clone(),
            avatar_url: row.avatar_url.clone(),
            visibility: row.visibility,
            model_preference: row.model_preference.clone(),
            extensions: stored
                .get("extensions")
                .cloned()
                .unwrap_or_else(|| json!({})),
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCharacterRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub personality: String,
    #[serde(default)]
    pub scenario: String,
    #[serde(default)]
    pub greeting: String,
    #[serde(default)]
    pub alternate_greetings: Vec<String>,
    #[serde(default)]
    pub example_dialogue: String,
    #[serde(default)]
    pub system_prompt: String,
    #[serde(default)]
    pub post_history_instructions: String,
    #[serde(default)]
    pub creator_notes: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub avatar_url: Option<String>,
    #[schema(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
    pub model_preference: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extensions: Option<Value>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCharacterRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub personality: Option<String>,
    pub scenario: Option<String>,
    pub greeting: Option<String>,
    pub alternate_greetings: Option<Vec<String>>,
    pub example_dialogue: Option<String>,
    pub system_prompt: Option<String>,
    pub post_history_instructions: Option<String>,
    pub creator_notes: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    #[schema(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub model_preference: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub extensions: Option<Value>,
}

fn long(field: &str, value: &str) -> Result<String, ValidationError> {
    if value.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    if value.chars().count() > LONG_TEXT {
        return Err(ValidationError::new(
            field,
            format!("must be at most {LONG_TEXT} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn long_opt(field: &str, value: Option<String>) -> Result<Option<String>, ValidationError> {
    value.map(|v| long(field, &v)).transpose()
}

fn greetings(values: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if values.len() > MAX_LIST_ITEMS {
        return Err(ValidationError::new(
            "alternate_greetings",
            format!("at most {MAX_LIST_ITEMS} items"),
        ));
    }
    values
        .iter()
        .map(|g| long("alternate_greetings", g))
        .collect()
}

fn tags(values: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if values.len() > MAX_LIST_ITEMS {
        return Err(ValidationError::new(
            "tags",
            format!("at most {MAX_LIST_ITEMS} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for tag in values {
        let tag = bounded_text("tags", &tag, 1, 32)?.to_lowercase();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// `provider/model`, both parts non-empty, no whitespace.
fn model_id(value: &str) -> Result<String, ValidationError> {
    let v = value.trim();
    let ok = v.len() <= 100
        && !v.chars().any(char::is_whitespace)
        && v.split_once('/')
            .is_some_and(|(p, m)| !p.is_empty() && !m.is_empty());
    if ok {
        Ok(v.to_owned())
    } else {
        Err(ValidationError::new(
            "model_preference",
            "must look like provider/model",
        ))
    }
}

/// Merges new card `extensions` into the stored blob, keeping unmodelled card fields.
fn extensions_blob(
    stored: Option<&str>,
    extensions: Option<Value>,
) -> Result<String, ValidationError> {
    let mut blob = stored.map(blob).unwrap_or_else(|| json!({}));
    if let Some(ext) = extensions {
        if !ext.is_object() {
            return Err(ValidationError::new("extensions", "must be a JSON object"));
        }
        blob["extensions"] = ext;
    }
    let text = blob.to_string();
    if text.len() > MAX_EXTENSIONS_BYTES {
        return Err(ValidationError::new(
            "extensions",
            "must be at most 64 KiB of JSON",
        ));
    }
    Ok(text)
}

fn new_row(
    owner: UserId,
    body: CreateCharacterRequest,
) -> Result<NewCharacterRow, ValidationError> {
    Ok(NewCharacterRow {
        owner_id: owner,
        name: bounded_text("name", &body.name, 1, 64)?,
        description: long("description", &body.description)?,
        personality: long("personality", &body.personality)?,
        scenario: long("scenario", &body.scenario)?,
        greeting: long("greeting", &body.greeting)?,
        alternate_greetings: greetings(body.alternate_greetings)?,
        example_dialogue: long("example_dialogue", &body.example_dialogue)?,
        system_prompt: long("system_prompt", &body.system_prompt)?,
        post_history_instructions: long(
            "post_history_instructions",
            &body.post_history_instructions,
        )?,
        tags: tags(body.tags)?,
        avatar_url: body
            .avatar_url
            .map(|u| HttpUrl::parse("avatar_url", &u).map(HttpUrl::into_inner))
            .transpose()?,
        visibility: body.visibility.unwrap_or(Visibility::Private),
        model_preference: body.model_preference.map(|m| model_id(&m)).transpose()?,
        creator_notes: long("creator_notes", &body.creator_notes)?,
        extensions: extensions_blob(None, body.extensions)?,
    })
}

/// Loads a character the viewer may see: their own, a public one, or any for admins. Others'
/// private characters are 404, as if they did not exist.
async fn visible(
    state: &AppState,
    user: &AuthUser,
    id: CharacterId,
) -> Result<CharacterRow, ApiError> {
    let row = db::run(&state.db, move |c| db::characters::find(c, id)).await?;
    if row.owner_id == user.id || row.visibility == Visibility::Public || user.is_admin() {
        Ok(row)
    } else {
        Err(ApiError::not_found("character not found"))
    }
}

/// Loads a character the viewer may change: owner or admin. Seeing but not owning is 403.
async fn owned(
    state: &AppState,
    user: &AuthUser,
    id: CharacterId,
) -> Result<CharacterRow, ApiError> {
    let row = visible(state, user, id).await?;
    if row.owner_id == user.id || user.is_admin() {
        Ok(row)
    } else {
        Err(ApiError::forbidden(
            "only the owner may change this character",
        ))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListCharactersQuery {
    /// Part of the name, case-insensitive.
    pub search: Option<String>,
    /// Exact tag.
    pub tag: Option<String>,
    /// Only my own characters.
    #[serde(default)]
    pub mine: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/characters", tag = "characters", security(("bearer" = [])),
    params(ListCharactersQuery), responses((status = 200, body = PageOfCharacters), (status = 401)))]
pub async fn list_characters(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ListCharactersQuery>,
) -> Result<web::Json<Page<CharacterView>>, ApiError> {
    let q = query.into_inner();
    let (limit, offset) = Page::<CharacterView>::bounds(q.limit, q.offset)?;
    let search = bounded_text_opt("search", q.search.as_deref(), 0, 64)?.filter(|s| !s.is_empty());
    let tag = bounded_text_opt("tag", q.tag.as_deref(), 0, 32)?
        .filter(|s| !s.is_empty())
        .map(|t| t.to_lowercase());
    let viewer = user.id;
    let mine = q.mine;
    let rows = db::run(&state.db, move |c| {
        db::characters::list_page(
            c,
            viewer,
            mine,
            search.as_deref(),
            tag.as_deref(),
            limit,
            offset,
        )
    })
    .await?;
    Ok(web::Json(Page::new(
        rows.iter().map(CharacterView::from_row).collect(),
        limit,
        offset,
    )))
}

/// Schema name for the paginated list in the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PageOfCharacters {
    items: Vec<CharacterView>,
    limit: i64,
    offset: i64,
}

#[utoipa::path(post, path = "/api/v1/characters", tag = "characters", security(("bearer" = [])),
    request_body = CreateCharacterRequest,
    responses((status = 201, body = CharacterView), (status = 401), (status = 422)))]
pub async fn create_character(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<CreateCharacterRequest>,
) -> Result<HttpResponse, ApiError> {
    let row = new_row(user.id, body.into_inner())?;
    let created = db::run(&state.db, move |c| db::characters::insert(c, row)).await?;
    Ok(HttpResponse::Created().json(CharacterView::from_row(&created)))
}

#[utoipa::path(get, path = "/api/v1/characters/{id}", tag = "characters", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = CharacterView), (status = 404)))]
pub async fn get_character(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<CharacterView>, ApiError> {
    let row = visible(&state, &user, CharacterId(path.into_inner())).await?;
    Ok(web::Json(CharacterView::from_row(&row)))
}

#[utoipa::path(patch, path = "/api/v1/characters/{id}", tag = "characters", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateCharacterRequest,
    responses((status = 200, body = CharacterView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_character(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<UpdateCharacterRequest>,
) -> Result<web::Json<CharacterView>, ApiError> {
    let id = CharacterId(path.into_inner());
    let body = body.into_inner();
    let current = owned(&state, &user, id).await?;
    let changes = CharacterChanges {
        name: bounded_text_opt("name", body.name.as_deref(), 1, 64)?,
        description: long_opt("description", body.description)?,
        personality: long_opt("personality", body.personality)?,
        scenario: long_opt("scenario", body.scenario)?,
        greeting: long_opt("greeting", body.greeting)?,
        alternate_greetings: body.alternate_greetings.map(greetings).transpose()?,
        example_dialogue: long_opt("example_dialogue", body.example_dialogue)?,
        system_prompt: long_opt("system_prompt", body.system_prompt)?,
        post_history_instructions: long_opt(
            "post_history_instructions",
            body.post_history_instructions,
        )?,
        tags: body.tags.map(tags).transpose()?,
        avatar_url: match body.avatar_url {
            None => None,
            Some(None) => Some(None),
            Some(Some(u)) => Some(Some(HttpUrl::parse("avatar_url", &u)?.into_inner())),
        },
        visibility: body.visibility,
        model_preference: match body.model_preference {
            None => None,
            Some(None) => Some(None),
            Some(Some(m)) => Some(Some(model_id(&m)?)),
        },
        creator_notes: long_opt("creator_notes", body.creator_notes)?,
        extensions: match body.extensions {
            None => None,
            ext => Some(extensions_blob(Some(&current.extensions), ext)?),
        },
    };
    let row = db::run(&state.db, move |c| db::characters::update(c, id, &changes)).await?;
    Ok(web::Json(CharacterView::from_row(&row)))
}

#[utoipa::path(delete, path = "/api/v1/characters/{id}", tag = "characters", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_character(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = CharacterId(path.into_inner());
    owned(&state, &user, id).await?;
    db::run(&state.db, move |c| db::characters::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn card_fields(row: &CharacterRow) -> CardFields {
    CardFields {
        name: row.name.clone(),
        description: row.description.clone(),
        personality: row.personality.clone(),
        scenario: row.scenario.clone(),
        greeting: row.greeting.clone(),
        alternate_greetings: row.alternate_greetings.clone(),
        example_dialogue: row.example_dialogue.clone(),
        system_prompt: row.system_prompt.clone(),
        post_history_instructions: row.post_history_instructions.clone(),
        creator_notes: row.creator_notes.clone(),
        tags: row.tags.clone(),
        extensions: blob(&row.extensions),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[param(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
}

#[utoipa::path(post, path = "/api/v1/characters/import", tag = "characters", security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = Object, description = "A `chara_card_v2` JSON card (application/json) or a PNG with the card in its `chara` tEXt chunk (image/png)"),
    responses((status = 201, body = CharacterView), (status = 415), (status = 422)))]
pub async fn import_character(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let card_json = if content_type.starts_with("image/png") {
        cards::extract_from_png(&body).map_err(|e| ApiError::validation("card", e.to_string()))?
    } else if content_type.starts_with("application/json") {
        body.to_vec()
    } else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send application/json or image/png",
        ));
    };
    let fields = cards::parse_card_json(&card_json)
        .map_err(|e| ApiError::validation("card", e.to_string()))?;
    let blob_text = fields.extensions.to_string();
    if blob_text.len() > MAX_EXTENSIONS_BYTES * 4 {
        return Err(ApiError::validation(
            "card",
            "card extensions are too large",
        ));
    }
    let request = CreateCharacterRequest {
        name: fields.name,
        description: fields.description,
        personality: fields.personality,
        scenario: fields.scenario,
        greeting: fields.greeting,
        alternate_greetings: fields.alternate_greetings,
        example_dialogue: fields.example_dialogue,
        system_prompt: fields.system_prompt,
        post_history_instructions: fields.post_history_instructions,
        creator_notes: fields.creator_notes,
        tags: Vec::new(),
        avatar_url: None,
        visibility: query.visibility,
        model_preference: None,
        extensions: None,
    };
    // The card's `character_book` becomes the character's own lorebook (it also stays in the
    // blob, so a card exported before any edit of the book is byte-for-byte what came in).
    let book = fields
        .extensions
        .get("card_extra")
        .and_then(|extra| extra.get("character_book"))
        .map(|raw| chat::lorebooks::parse_card_book(raw).map(|book| (book, raw.clone())))
        .transpose()?;
    let mut row = new_row(user.id, request)?;
    // Tags keep the card's spelling (lower-casing would change the exported card).
    row.tags = fields.tags;
    row.extensions = blob_text;
    let actor = chat::Actor::from(&user);
    let created = db::run(&state.db, move |c| {
        db::transaction(c, |c| {
            let created = db::characters::insert(c, row)?;
            if let Some((book, raw)) = &book {
                chat::lorebooks::bind_card_book(c, &actor, created.id, &created.name, book, raw)?;
            }
            Ok(created)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(CharacterView::from_row(&created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `png`.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/characters/{id}/export", tag = "characters", security(("bearer" = [])),
    params(("id" = i64, Path), ExportQuery),
    responses((status = 200, description = "the Character Card V2 as JSON or PNG"), (status = 404)))]
pub async fn export_character(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let row = visible(&state, &user, CharacterId(path.into_inner())).await?;
    let mut card = cards::to_card_json(&card_fields(&row));
    // The character's lorebook as it is now (edits included), in the place the card had it.
    let id = row.id;
    if let Some(book) = db::run(&state.db, move |c| chat::lorebooks::character_book(c, id)).await? {
        if let Some(data) = card.get_mut("data").and_then(Value::as_object_mut) {
            data.insert("character_book".to_owned(), book);
        }
    }
    let filename = row
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>();
    match query.format.as_deref().unwrap_or("json") {
        "json" => Ok(HttpResponse::Ok()
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}.json\""),
            ))
            .json(card)),
        "png" => {
            let png = cards::embed_in_png(None, &card).map_err(ApiError::internal)?;
            Ok(HttpResponse::Ok()
                .content_type("image/png")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}.png\""),
                ))
                .body(png))
        }
        _ => Err(ApiError::validation("format", "must be json or png")),
    }
}
