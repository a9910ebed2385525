//! The admin overview of a period, read from the roll-ups only (never from `messages`), so a
//! 30-day report costs the same with a thousand messages or with millions.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest};
use chrono::{NaiveDate, Utc};
use db::stats::{LatencySummary, ModelStats, Overview};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{admin, query, DateRange};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverviewQuery {
    /// First day, `YYYY-MM-DD` (UTC); default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, included; default today (UTC). At most 366 days after `from`.
    pub to: Option<String>,
    /// How many top characters (1–50, default 10).
    #[param(minimum = 1, maximum = 50)]
    pub top: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    pub users: UsersView,
    pub messages: MessagesView,
    pub tokens: TokensView,
    pub generations: GenerationsView,
    /// Generation latency (job enqueued → reply stored).
    pub latency_ms: LatencyView,
    pub daily: Vec<DayView>,
    pub by_model: Vec<ModelView>,
    pub by_provider: Vec<ProviderView>,
    pub top_characters: Vec<CharacterView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsersView {
    /// Accounts at the end of the period.
    pub total: i64,
    /// Accounts created in the period.
    pub new: i64,
    /// Distinct users who sent a message or got a reply in the period.
    pub active: i64,
    /// Distinct active users in the 30 days ending with `to` (MAU).
    pub monthly_active: i64,
    /// Mean of the daily active users (DAU) over the period; per day in `daily`.
    pub daily_active_avg: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagesView {
    /// Sent by users.
    pub user: i64,
    /// Completed AI replies.
    pub ai: i64,
    pub total: i64,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct TokensView {
    pub prompt: i64,
    pub completion: i64,
    pub total: i64,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct GenerationsView {
    pub ok: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub total: i64,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct LatencyView {
    /// Generations with a known latency.
    pub samples: i64,
    pub mean: Option<f64>,
    /// Estimated from a histogram with buckets at most 12.5% wide.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

impl From<&LatencySummary> for LatencyView {
    fn from(l: &LatencySummary) -> Self {
        let round = |v: Option<f64>| v.map(|v| (v * 10.0).round() / 10.0);
        Self {
            samples: l.samples,
            mean: round(l.mean_ms),
            p50: round(l.p50_ms),
            p99: round(l.p99_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    pub day: NaiveDate,
    pub new_users: i64,
    pub active_users: i64,
    pub user_messages: i64,
    pub ai_messages: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub failed: i64,
    pub cancelled: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelView {
    /// `provider/model`.
    pub model: String,
    pub provider: String,
    pub generations: GenerationsView,
    pub tokens: TokensView,
    pub latency_ms: LatencyView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub provider: String,
    pub generations: GenerationsView,
    pub tokens: TokensView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CharacterView {
    pub character_id: i64,
    /// `null` when the character was deleted since.
    pub name: Option<String>,
    /// Messages users sent it plus its completed replies.
    pub messages: i64,
}

fn generations(m: &ModelStats) -> GenerationsView {
    GenerationsView {
        ok: m.generations_ok,
        failed: m.generations_failed,
        cancelled: m.generations_cancelled,
        total: m.generations_ok + m.generations_failed + m.generations_cancelled,
    }
}

fn tokens(prompt: i64, completion: i64) -> TokensView {
    TokensView {
        prompt,
        completion,
        total: prompt + completion,
    }
}

impl OverviewView {
    pub fn new(range: DateRange, o: &Overview) -> Self {
        let sum = |f: fn(&db::stats::DayStats) -> i64| o.days.iter().map(f).sum::<i64>();
        let user_messages = sum(|d| d.user_messages);
        let ai = sum(|d| d.generations_ok);
        let failed = sum(|d| d.generations_failed);
        let cancelled = sum(|d| d.generations_cancelled);
        let mut providers: BTreeMap<String, (GenerationsView, TokensView)> = BTreeMap::new();
        for m in &o.models {
            let (g, t) = providers.entry(m.provider.clone()).or_default();
            let mg = generations(m);
            g.ok += mg.ok;
            g.failed += mg.failed;
            g.cancelled += mg.cancelled;
            g.total += mg.total;
            t.prompt += m.prompt_tokens;
            t.completion += m.completion_tokens;
            t.total += m.prompt_tokens + m.completion_tokens;
        }
        Self {
            from: range.from,
            to: range.to,
            days: range.days(),
            users: UsersView {
                total: o.users_total,
                new: o.users_new,
                active: o.users_active,
                monthly_active: o.users_monthly_active,
                daily_active_avg: if o.days.is_empty() {
                    0.0
                } else {
                    let avg = sum(|d| d.active_users) as f64 / o.days.len() as f64;
                    (avg * 100.0).round() / 100.0
                },
            },
            messages: MessagesView {
                user: user_messages,
                ai,
                total: user_messages + ai,
            },
            tokens: tokens(sum(|d| d.prompt_tokens), sum(|d| d.completion_tokens)),
            generations: GenerationsView {
                ok: ai,
                failed,
                cancelled,
                total: ai + failed + cancelled,
            },
            latency_ms: LatencyView::from(&o.latency),
            daily: o
                .days
                .iter()
                .map(|d| DayView {
                    day: d.day,
                    new_users: d.new_users,
                    active_users: d.active_users,
                    user_messages: d.user_messages,
                    ai_messages: d.generations_ok,
                    prompt_tokens: d.prompt_tokens,
                    completion_tokens: d.completion_tokens,
                    total_tokens: d.prompt_tokens + d.completion_tokens,
                    failed: d.generations_failed,
                    cancelled: d.generations_cancelled,
                })
                .collect(),
            by_model: o
                .models
                .iter()
                .map(|m| ModelView {
                    model: m.model.clone(),
                    provider: m.provider.clone(),
                    generations: generations(m),
                    tokens: tokens(m.prompt_tokens, m.completion_tokens),
                    latency_ms: LatencyView::from(&m.latency),
                })
                .collect(),
            by_provider: providers
                .into_iter()
                .map(|(provider, (generations, tokens))| ProviderView {
                    provider,
                    generations,
                    tokens,
                })
                .collect(),
            top_characters: o
                .top_characters
                .iter()
                .map(|c| CharacterView {
                    character_id: c.character_id.0,
                    name: c.name.clone(),
                    messages: c.messages,
                })
                .collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/admin/stats/overview", tag = "admin-stats", security(("bearer" = [])),
    params(OverviewQuery),
    responses((status = 200, body = OverviewView), (status = 401), (status = 403),
              (status = 422, description = "bad date, inverted or too long range")))]
pub async fn get_overview(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<OverviewView>, ApiError> {
    admin(&user)?;
    let q: OverviewQuery = query(&req)?;
    let range = DateRange::parse(q.from.as_deref(), q.to.as_deref(), Utc::now().date_naive())?;
    let top = q.top.unwrap_or(10);
    if !(1..=50).contains(&top) {
        return Err(ApiError::validation("top", "must be between 1 and 50"));
    }
    let (from, to) = (range.from, range.to);
    let overview = db::run(&state.db, move |c| db::stats::overview(c, from, to, top)).await?;
    Ok(web::Json(OverviewView::new(range, &overview)))
}
