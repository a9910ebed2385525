//! AI characters and their cards.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{CharacterId, UserId, Visibility};

use crate::schema::characters;
use crate::types::{contains_pattern, now, to_json, DbEnum, Json, JsonText};
use crate::{clamp_page, found, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = characters)]
pub struct CharacterRow {
    #[diesel(deserialize_as = i64)]
    pub id: CharacterId,
    #[diesel(deserialize_as = i64)]
    pub owner_id: UserId,
    pub name: String,
    pub description: String,
    pub personality: String,
    pub scenario: String,
    pub greeting: String,
    #[diesel(deserialize_as = Json<Vec<String>>)]
    pub alternate_greetings: Vec<String>,
    pub example_dialogue: String,
    pub system_prompt: String,
    pub post_history_instructions: String,
    #[diesel(deserialize_as = Json<Vec<String>>)]
    pub tags: Vec<String>,
    pub avatar_url: Option<String>,
    #[diesel(deserialize_as = DbEnum<Visibility>)]
    pub visibility: Visibility,
    pub model_preference: Option<String>,
    pub creator_notes: String,
    /// The card's `extensions` object as the client sent it: stored as text, so keys, order and
    /// number precision survive a round trip untouched.
    pub extensions: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = characters)]
pub struct NewCharacterRow {
    #[diesel(serialize_as = i64)]
    pub owner_id: UserId,
    pub name: String,
    pub description: String,
    pub personality: String,
    pub scenario: String,
    pub greeting: String,
    #[diesel(serialize_as = JsonText)]
    pub alternate_greetings: Vec<String>,
    pub example_dialogue: String,
    pub system_prompt: String,
    pub post_history_instructions: String,
    #[diesel(serialize_as = JsonText)]
    pub tags: Vec<String>,
    pub avatar_url: Option<String>,
    #[diesel(serialize_as = DbEnum<Visibility>)]
    pub visibility: Visibility,
    pub model_preference: Option<String>,
    pub creator_notes: String,
    pub extensions: String,
}

impl NewCharacterRow {
    /// A private character with an empty card.
    pub fn new(owner_id: UserId, name: &str) -> Self {
        Self {
            owner_id,
            name: name.to_owned(),
            description: String::new(),
            personality: String::new(),
            scenario: String::new(),
            greeting: String::new(),
            alternate_greetings: Vec::new(),
            example_dialogue: String::new(),
            system_prompt: String::new(),
            post_history_instructions: String::new(),
            tags: Vec::new(),
            avatar_url: None,
            visibility: Visibility::Private,
            model_preference: None,
            creator_notes: String::new(),
            extensions: "{}".to_owned(),
        }
    }
}

/// Card fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = characters)]
pub struct CharacterChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub personality: Option<String>,
    pub scenario: Option<String>,
    pub greeting: Option<String>,
    #[diesel(skip_update)]
    pub alternate_greetings: Option<Vec<String>>,
    pub example_dialogue: Option<String>,
    pub system_prompt: Option<String>,
    pub post_history_instructions: Option<String>,
    #[diesel(skip_update)]
    pub tags: Option<Vec<String>>,
    pub avatar_url: Option<Option<String>>,
    #[diesel(skip_update)]
    pub visibility: Option<Visibility>,
    pub model_preference: Option<Option<String>>,
    pub creator_notes: Option<String>,
    pub extensions: Option<String>,
}

pub fn insert(conn: &mut DbConn, new: NewCharacterRow) -> Result<CharacterRow, DbError> {
    let at = now();
    Ok(diesel::insert_into(characters::table)
        .values((
            new,
            characters::created_at.eq(at),
            characters::updated_at.eq(at),
        ))
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: CharacterId) -> Result<CharacterRow, DbError> {
    Ok(characters::table
        .find(id.0)
        .select(CharacterRow::as_select())
        .first(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    id: CharacterId,
    changes: &CharacterChanges,
) -> Result<CharacterRow, DbError> {
    // The JSON and enum columns are encoded here rather than by the derive, which would make the
    // changeset consume `changes`.
    let greetings = changes
        .alternate_greetings
        .as_ref()
        .map(|g| characters::alternate_greetings.eq(to_json(g)));
    let tags = changes
        .tags
        .as_ref()
        .map(|t| characters::tags.eq(to_json(t)));
    let visibility = changes
        .visibility
        .map(|v| characters::visibility.eq(v.as_str()));
    Ok(diesel::update(characters::table.find(id.0))
        .set((
            changes,
            greetings,
            tags,
            visibility,
            characters::updated_at.eq(now()),
        ))
        .get_result(conn)?)
}

/// Deletes the character; conversations with it keep their history (`character_id` set null).
pub fn delete(conn: &mut DbConn, id: CharacterId) -> Result<(), DbError> {
    found(diesel::delete(characters::table.find(id.0)).execute(conn)?)
}

/// The characters `viewer` may see: their own and every public one, most recently updated
/// first, optionally narrowed by a name substring and an exact tag (both case-insensitive).
pub fn list_visible(
    conn: &mut DbConn,
    viewer: UserId,
    search: Option<&str>,
    tag: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<CharacterRow>, DbError> {
    list_page(conn, viewer, false, search, tag, limit, offset)
}

/// [`list_visible`], or with `own_only` just the viewer's own characters — filtered in the
/// query, so pages are full (filtering a page afterwards gave short or empty pages).
pub fn list_page(
    conn: &mut DbConn,
    viewer: UserId,
    own_only: bool,
    search: Option<&str>,
    tag: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<CharacterRow>, DbError> {
    let (limit, offset) = clamp_page(limit, offset);
    // Tags are a JSON array of strings: `"tag"` (quotes included) matches exactly one element.
    let name_pattern = contains_pattern(search.unwrap_or_default());
    let tag_pattern = contains_pattern(&to_json(&tag.unwrap_or_default()));
    macro_rules! page {
        ($backend:ty, $like:ident) => {{
            let mut q = characters::table
                .filter(
                    characters::owner_id
                        .eq(viewer.0)
                        .or(characters::visibility.eq(Visibility::Public.as_str())),
                )
                .order((characters::updated_at.desc(), characters::id.desc()))
                .limit(limit)
                .offset(offset)
                .select(CharacterRow::as_select())
                .into_boxed::<$backend>();
            if own_only {
                q = q.filter(characters::owner_id.eq(viewer.0));
            }
            if search.is_some() {
                q = q.filter(characters::name.$like(name_pattern).escape('\\'));
            }
            if tag.is_some() {
                q = q.filter(characters::tags.$like(tag_pattern).escape('\\'));
            }
            q
        }};
    }
    Ok(match conn {
        DbConn::Postgres(c) => page!(diesel::pg::Pg, ilike).load(c)?,
        DbConn::Sqlite(c) => page!(diesel::sqlite::Sqlite, like).load(c)?,
    })
}

/// The characters `owner` made, newest first.
pub fn list_for_owner(conn: &mut DbConn, owner: UserId) -> Result<Vec<CharacterRow>, DbError> {
    Ok(characters::table
        .filter(characters::owner_id.eq(owner.0))
        .order(characters::id.desc())
        .select(CharacterRow::as_select())
        .load(conn)?)
}
