//! Creating, listing, reading, editing and deleting servers.

use actix_web::{web, HttpResponse};
use db::servers::{NewServerRow, ServerChanges};
use domain::{bounded_text, bounded_text_opt, HttpUrl, MemberRole, ServerId, Visibility};
use platform::{ApiError, AuthUser};

use crate::routes::conversations::ConversationView;
use crate::routes::Page;
use crate::state::AppState;

use super::common::*;

#[utoipa::path(post, path = "/api/v1/servers", tag = "servers", security(("bearer" = [])),
    request_body = CreateServerRequest, responses((status = 201, body = ServerView), (status = 422)))]
pub async fn create_server(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<CreateServerRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewServerRow {
        owner_id: user.id,
        name: bounded_text("name", &body.name, 1, 100)?,
        description: bounded_text_opt("description", Some(&body.description), 0, 1000)?
            .unwrap_or_default(),
        visibility: body.visibility.unwrap_or(Visibility::Private),
        invite_code: invite_code(),
        icon_url: body
            .icon_url
            .map(|u| HttpUrl::parse("icon_url", &u).map(HttpUrl::into_inner))
            .transpose()?,
    };
    let owner = user.id;
    let (server, general) = db::run(&state.db, move |c| {
        db::transaction(c, |c| {
            let server = db::servers::insert(c, new)?;
            let general = db::conversations::insert(
                c,
                new_channel(server.id, owner, "general".into(), String::new(), 0),
            )?;
            Ok((server, general))
        })
    })
    .await?;
    let mut view = ServerView::new(&server, Some(MemberRole::Owner));
    view.channels = Some(vec![ConversationView::new(
        &general,
        Some(MemberRole::Owner),
    )]);
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(get, path = "/api/v1/servers", tag = "servers", security(("bearer" = [])),
    responses((status = 200, body = [ServerView])))]
pub async fn list_my_servers(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ServerView>>, ApiError> {
    let me = user.id;
    let rows = db::run(&state.db, move |c| {
        db::servers::list_for_user(c, me)?
            .into_iter()
            .map(|s| {
                let role = db::servers::find_member(c, s.id, me)?.map(|m| m.role);
                Ok((s, role))
            })
            .collect::<Result<Vec<_>, db::DbError>>()
    })
    .await?;
    Ok(web::Json(
        rows.iter()
            .map(|(s, role)| ServerView::new(s, *role))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/servers/public", tag = "servers", security(("bearer" = [])),
    params(ServerListQuery), responses((status = 200, body = Page<ServerView>)))]
pub async fn list_public_servers(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ServerListQuery>,
) -> Result<web::Json<Page<ServerView>>, ApiError> {
    let (limit, offset) = Page::<ServerView>::bounds(query.limit, query.offset)?;
    let rows = db::run(&state.db, move |c| {
        db::servers::list_public(c, limit, offset)
    })
    .await?;
    Ok(web::Json(Page::new(
        rows.iter().map(|s| ServerView::new(s, None)).collect(),
        limit,
        offset,
    )))
}

#[utoipa::path(get, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ServerView), (status = 404)))]
pub async fn get_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ServerView>, ApiError> {
    let id = ServerId(path.into_inner());
    let (server, role) = load(&state, id, user.id).await?;
    let channels = db::run(&state.db, move |c| db::conversations::list_channels(c, id)).await?;
    let mut view = ServerView::new(&server, role);
    view.channels = Some(
        channels
            .iter()
            .map(|ch| ConversationView::new(ch, role))
            .collect(),
    );
    Ok(web::Json(view))
}

#[utoipa::path(patch, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateServerRequest,
    responses((status = 200, body = ServerView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<UpdateServerRequest>,
) -> Result<web::Json<ServerView>, ApiError> {
    let id = ServerId(path.into_inner());
    require(&state, id, user.id, &[MemberRole::Owner]).await?;
    let body = body.into_inner();
    let changes = ServerChanges {
        name: bounded_text_opt("name", body.name.as_deref(), 1, 100)?,
        description: bounded_text_opt("description", body.description.as_deref(), 0, 1000)?,
        visibility: body.visibility,
        invite_code: body.rotate_invite_code.then(invite_code),
        icon_url: match body.icon_url {
            None => None,
            Some(None) => Some(None),
            Some(Some(u)) => Some(Some(HttpUrl::parse("icon_url", &u)?.into_inner())),
        },
    };
    let row = db::run(&state.db, move |c| db::servers::update(c, id, &changes)).await?;
    Ok(web::Json(ServerView::new(&row, Some(MemberRole::Owner))))
}

#[utoipa::path(delete, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ServerId(path.into_inner());
    require(&state, id, user.id, &[MemberRole::Owner]).await?;
    db::run(&state.db, move |c| db::servers::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
