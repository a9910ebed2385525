//! Token usage: one user's per day or per model, and the CSV export of everyone's for a period.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate, Utc};
use db::stats::{ExportCursor, UsageExportRow};
use domain::UserId;
use futures_util::stream;
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{admin, path_id, query, DateRange};
use crate::csv::{push_row, Cell};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (UTC); default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, included; default today (UTC). At most 366 days after `from`.
    pub to: Option<String>,
    /// `day` (default) or `model`.
    #[param(pattern = "^(day|model)$")]
    pub group_by: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First day, `YYYY-MM-DD` (UTC); default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, included; default today (UTC). At most 366 days after `from`.
    pub to: Option<String>,
}

/// A user's usage over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserUsage {
    pub user_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `day` or `model`.
    pub group_by: String,
    pub totals: UsageTotals,
    /// Per day (every day of the period, in order) or per model (by name).
    pub items: Vec<UsageItem>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct UsageTotals {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// Messages the user sent.
    pub messages: i64,
    /// AI jobs charged to the user (replies and stories).
    pub replies: i64,
    /// Conversations the user started.
    pub conversations: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageItem {
    /// With `group_by=day`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    /// With `group_by=model`: `provider/model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub replies: i64,
    /// With `group_by=day`: messages the user sent that day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<i64>,
    /// With `group_by=day`: conversations the user started that day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupBy {
    Day,
    Model,
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}/usage", tag = "admin-usage", security(("bearer" = [])),
    params(("id" = i64, Path), UsageQuery),
    responses((status = 200, body = UserUsage), (status = 401), (status = 403), (status = 404),
              (status = 422, description = "bad date, inverted or too long range, unknown group_by")))]
pub async fn get_user_usage(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<UserUsage>, ApiError> {
    admin(&user)?;
    let id = UserId(path_id(&req, "id")?);
    let q: UsageQuery = query(&req)?;
    let range = DateRange::parse(q.from.as_deref(), q.to.as_deref(), Utc::now().date_naive())?;
    let group_by = match q.group_by.as_deref().unwrap_or("day") {
        "day" => GroupBy::Day,
        "model" => GroupBy::Model,
        _ => return Err(ApiError::validation("group_by", "must be `day` or `model`")),
    };
    let (from, to) = (range.from, range.to);
    let (days, models) = db::run(&state.db, move |c| {
        db::users::find(c, id)?;
        let days = db::stats::user_usage_by_day(c, id, from, to)?;
        let models = match group_by {
            GroupBy::Model => db::stats::user_usage_by_model(c, id, from, to)?,
            GroupBy::Day => Vec::new(),
        };
        Ok((days, models))
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ApiError::not_found("user not found"),
        other => other.into(),
    })?;

    let mut totals = UsageTotals::default();
    for d in &days {
        totals.prompt_tokens += d.prompt_tokens;
        totals.completion_tokens += d.completion_tokens;
        totals.messages += d.messages;
        totals.replies += d.replies;
        totals.conversations += d.conversations;
    }
    totals.total_tokens = totals.prompt_tokens + totals.completion_tokens;
    let items = match group_by {
        GroupBy::Day => {
            let mut by_day: std::collections::HashMap<NaiveDate, db::stats::UserDayUsage> =
                days.into_iter().map(|d| (d.day, d)).collect();
            let mut items = Vec::with_capacity(range.days() as usize);
            let mut day = from;
            while day <= to {
                let d = by_day.remove(&day).unwrap_or_default();
                items.push(UsageItem {
                    day: Some(day),
                    model: None,
                    prompt_tokens: d.prompt_tokens,
                    completion_tokens: d.completion_tokens,
                    total_tokens: d.prompt_tokens + d.completion_tokens,
                    replies: d.replies,
                    messages: Some(d.messages),
                    conversations: Some(d.conversations),
                });
                day += Duration::days(1);
            }
            items
        }
        GroupBy::Model => models
            .into_iter()
            .map(|m| UsageItem {
                day: None,
                total_tokens: m.prompt_tokens + m.completion_tokens,
                model: Some(m.model),
                prompt_tokens: m.prompt_tokens,
                completion_tokens: m.completion_tokens,
                replies: m.replies,
                messages: None,
                conversations: None,
            })
            .collect(),
    };
    Ok(web::Json(UserUsage {
        user_id: id.0,
        from,
        to,
        group_by: match group_by {
            GroupBy::Day => "day",
            GroupBy::Model => "model",
        }
        .to_owned(),
        totals,
        items,
    }))
}

/// Rows fetched per round trip while streaming the export (the repository caps pages at 1000).
const EXPORT_BATCH: i64 = 1000;

pub const CSV_HEADER: &str = "day,user_id,username,email,model,provider,replies,prompt_tokens,completion_tokens,total_tokens\r\n";

fn csv_rows(rows: &[UsageExportRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 80);
    for r in rows {
        push_row(
            &mut out,
            &[
                Cell::Raw(r.day.to_string()),
                Cell::Raw(r.user_id.to_string()),
                Cell::Text(&r.username),
                Cell::Text(&r.email),
                Cell::Text(&r.model),
                Cell::Text(db::stats::provider_of(&r.model)),
                Cell::Raw(r.replies.to_string()),
                Cell::Raw(r.prompt_tokens.to_string()),
                Cell::Raw(r.completion_tokens.to_string()),
                Cell::Raw((r.prompt_tokens + r.completion_tokens).to_string()),
            ],
        );
    }
    out
}

async fn export_page(
    db: &db::DbPool,
    range: DateRange,
    after: Option<ExportCursor>,
) -> Result<Vec<UsageExportRow>, ApiError> {
    Ok(db::run(db, move |c| {
        db::stats::usage_export_page(c, range.from, range.to, after.as_ref(), EXPORT_BATCH)
    })
    .await?)
}

#[utoipa::path(get, path = "/api/v1/admin/usage.csv", tag = "admin-usage", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, description = "CSV (RFC 4180), one row per user, day and model",
               content_type = "text/csv"),
              (status = 401), (status = 403), (status = 422)))]
pub async fn export_usage_csv(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin(&user)?;
    let q: ExportQuery = query(&req)?;
    let range = DateRange::parse(q.from.as_deref(), q.to.as_deref(), Utc::now().date_naive())?;
    // The first batch is read before answering, so an unavailable database is a proper 503
    // rather than a truncated download; later batches stream in constant memory.
    let first = export_page(&state.db, range, None).await?;
    let mut head = String::from(CSV_HEADER);
    head.push_str(&csv_rows(&first));
    // Paging goes on until a page comes back empty, whatever size the repository allows.
    let cursor = first.last().map(UsageExportRow::cursor);
    let db = state.db.clone();
    let rest = stream::try_unfold(cursor, move |cursor| {
        let db = db.clone();
        async move {
            let Some(after) = cursor else {
                return Ok::<_, ApiError>(None);
            };
            let rows = export_page(&db, range, Some(after)).await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let next = rows.last().map(UsageExportRow::cursor);
            Ok(Some((web::Bytes::from(csv_rows(&rows)), next)))
        }
    });
    let body = futures_util::StreamExt::chain(
        stream::once(async move { Ok::<_, ApiError>(web::Bytes::from(head)) }),
        rest,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"usage_{}_{}.csv\"",
                range.from, range.to
            ),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}
