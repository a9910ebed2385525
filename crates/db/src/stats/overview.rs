//! The overview report.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Text};
use domain::CharacterId;

use crate::{clamp_page, DbConn, DbError};

use super::latency::latency_quantile;
use super::record::{month_mask, month_start};
use super::sql::{count, day_start, load, sum, Arg, DayCountRow};

/// One day of the overview; days without activity are present with zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub day: NaiveDate,
    pub new_users: i64,
    pub active_users: i64,
    pub user_messages: i64,
    pub generations_ok: i64,
    pub generations_failed: i64,
    pub generations_cancelled: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// Generations of one model over the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelStats {
    pub model: String,
    pub provider: String,
    pub generations_ok: i64,
    pub generations_failed: i64,
    pub generations_cancelled: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency: LatencySummary,
}

/// Latency of the generations with a known latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencySummary {
    pub samples: i64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl LatencySummary {
    fn from_histogram(histogram: &[(i32, i64)], sum_ms: i64) -> Self {
        let samples: i64 = histogram.iter().map(|(_, n)| n).sum();
        Self {
            samples,
            mean_ms: (samples > 0).then(|| sum_ms as f64 / samples as f64),
            p50_ms: latency_quantile(histogram, 0.5),
            p99_ms: latency_quantile(histogram, 0.99),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharacterStats {
    pub character_id: CharacterId,
    /// `None` when the character was deleted since.
    pub name: Option<String>,
    pub messages: i64,
}

/// Everything the admin overview shows for a period, from the roll-ups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overview {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Accounts that existed at the end of the period.
    pub users_total: i64,
    /// Accounts created within the period.
    pub users_new: i64,
    /// Distinct users active within the period.
    pub users_active: i64,
    /// Distinct users active in the 30 days ending with the period's last day.
    pub users_monthly_active: i64,
    pub days: Vec<DayStats>,
    pub models: Vec<ModelStats>,
    pub latency: LatencySummary,
    pub top_characters: Vec<CharacterStats>,
}

#[derive(QueryableByName)]
pub(super) struct DayActivityRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    user_messages: i64,
    #[diesel(sql_type = BigInt)]
    active_users: i64,
}

#[derive(QueryableByName)]
pub(super) struct DayGenerationRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    ok: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    cancelled: i64,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
}

#[derive(QueryableByName)]
pub(super) struct ModelRow {
    #[diesel(sql_type = Text)]
    model: String,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = BigInt)]
    ok: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    cancelled: i64,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
}

#[derive(QueryableByName)]
pub(super) struct LatencyRow {
    #[diesel(sql_type = Text)]
    model: String,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = Integer)]
    bucket: i32,
    #[diesel(sql_type = BigInt)]
    samples: i64,
    #[diesel(sql_type = BigInt)]
    sum_ms: i64,
}

#[derive(QueryableByName)]
pub(super) struct CharacterRow {
    #[diesel(sql_type = BigInt)]
    character_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = BigInt)]
    messages: i64,
}

#[derive(QueryableByName)]
pub(super) struct ActiveRow {
    #[diesel(sql_type = BigInt)]
    in_range: i64,
    #[diesel(sql_type = BigInt)]
    in_window: i64,
}

/// `(month_start = ? AND (active_days & ?) <> 0) OR …` for the months of `from`–`to`.
pub(super) fn active_condition(from: NaiveDate, to: NaiveDate, args: &mut Vec<Arg>) -> String {
    let mut parts = Vec::new();
    let mut month = month_start(from);
    while month <= to {
        parts.push("(month_start = ? AND (active_days & ?) <> 0)");
        args.push(Arg::Date(month));
        args.push(Arg::Int(month_mask(month, from, to)));
        month = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    if parts.is_empty() {
        return "1 = 0".to_owned();
    }
    parts.join(" OR ")
}

/// Distinct users active from `from` to `to`, and from `window_from` to `to` (all inclusive), in
/// one pass over one row per user and month (`user_monthly.active_days`).
pub fn active_users(
    conn: &mut DbConn,
    from: NaiveDate,
    window_from: NaiveDate,
    to: NaiveDate,
) -> Result<(i64, i64), DbError> {
    let mut args = Vec::new();
    let in_range = active_condition(from, to, &mut args);
    let in_window = active_condition(window_from, to, &mut args);
    args.push(Arg::Date(month_start(from.min(window_from))));
    args.push(Arg::Date(to));
    let rows: Vec<ActiveRow> = load(
        conn,
        &format!(
            "SELECT {} AS in_range, {} AS in_window FROM ( \
               SELECT user_id, MAX(CASE WHEN {in_range} THEN 1 ELSE 0 END) AS r, \
                      MAX(CASE WHEN {in_window} THEN 1 ELSE 0 END) AS w \
               FROM user_monthly WHERE month_start BETWEEN ? AND ? AND active_days <> 0 \
               GROUP BY user_id) a",
            sum("r"),
            sum("w")
        ),
        args,
    )?;
    Ok(rows.first().map_or((0, 0), |r| (r.in_range, r.in_window)))
}

/// The overview of `from`–`to` (inclusive) with the `top` most talked-to characters.
pub fn overview(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
    top: i64,
) -> Result<Overview, DbError> {
    let range = || vec![Arg::Date(from), Arg::Date(to)];
    let after_to = day_start(to + Duration::days(1));

    let users_total = count(
        conn,
        "SELECT COUNT(*) AS n FROM users WHERE created_at < ?",
        vec![Arg::Ts(after_to)],
    )?;
    let new_per_day: Vec<DayCountRow> = load(
        conn,
        "SELECT date(created_at) AS day, COUNT(*) AS n FROM users \
         WHERE created_at >= ? AND created_at < ? GROUP BY date(created_at)",
        vec![Arg::Ts(day_start(from)), Arg::Ts(after_to)],
    )?;
    let (users_active, users_monthly_active) =
        active_users(conn, from, to - Duration::days(29), to)?;

    let activity: Vec<DayActivityRow> = load(
        conn,
        &format!(
            "SELECT day, {} AS user_messages, {} AS active_users FROM day_stats \
             WHERE day BETWEEN ? AND ? GROUP BY day",
            sum("user_messages"),
            sum("active_users")
        ),
        range(),
    )?;
    let generations: Vec<DayGenerationRow> = load(
        conn,
        &format!(
            "SELECT day, {} AS ok, {} AS failed, {} AS cancelled, {} AS prompt_tokens, \
             {} AS completion_tokens FROM daily_stats WHERE day BETWEEN ? AND ? GROUP BY day",
            sum("generations_ok"),
            sum("generations_failed"),
            sum("generations_cancelled"),
            sum("prompt_tokens"),
            sum("completion_tokens")
        ),
        range(),
    )?;

    let mut days: BTreeMap<NaiveDate, DayStats> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        days.insert(
            day,
            DayStats {
                day,
                ..DayStats::default()
            },
        );
        day += Duration::days(1);
    }
    for r in new_per_day {
        if let Some(d) = days.get_mut(&r.day) {
            d.new_users += r.n;
        }
    }
    for r in activity {
        if let Some(d) = days.get_mut(&r.day) {
            d.user_messages = r.user_messages;
            d.active_users = r.active_users;
        }
    }
    for r in generations {
        if let Some(d) = days.get_mut(&r.day) {
            d.generations_ok = r.ok;
            d.generations_failed = r.failed;
            d.generations_cancelled = r.cancelled;
            d.prompt_tokens = r.prompt_tokens;
            d.completion_tokens = r.completion_tokens;
        }
    }
    let users_new = days.values().map(|d| d.new_users).sum();

    let model_rows: Vec<ModelRow> = load(
        conn,
        &format!(
            "SELECT model, provider, {} AS ok, {} AS failed, {} AS cancelled, \
             {} AS prompt_tokens, {} AS completion_tokens FROM daily_stats \
             WHERE day BETWEEN ? AND ? GROUP BY model, provider ORDER BY model, provider",
            sum("generations_ok"),
            sum("generations_failed"),
            sum("generations_cancelled"),
            sum("prompt_tokens"),
            sum("completion_tokens")
        ),
        range(),
    )?;
    let latency_rows: Vec<LatencyRow> = load(
        conn,
        &format!(
            "SELECT model, provider, bucket, {} AS samples, {} AS sum_ms FROM latency_daily \
             WHERE day BETWEEN ? AND ? GROUP BY model, provider, bucket",
            sum("samples"),
            sum("sum_ms")
        ),
        range(),
    )?;
    // (model, provider) → (histogram, sum of milliseconds)
    type Histogram = (Vec<(i32, i64)>, i64);
    let mut per_model: HashMap<(String, String), Histogram> = HashMap::new();
    let mut overall: BTreeMap<i32, i64> = BTreeMap::new();
    let mut overall_sum = 0;
    for r in latency_rows {
        let entry = per_model.entry((r.model, r.provider)).or_default();
        entry.0.push((r.bucket, r.samples));
        entry.1 += r.sum_ms;
        *overall.entry(r.bucket).or_default() += r.samples;
        overall_sum += r.sum_ms;
    }
    let mut models: Vec<ModelStats> = model_rows
        .into_iter()
        .map(|r| {
            let latency = per_model
                .remove(&(r.model.clone(), r.provider.clone()))
                .map(|(h, s)| LatencySummary::from_histogram(&h, s))
                .unwrap_or_default();
            ModelStats {
                model: r.model,
                provider: r.provider,
                generations_ok: r.ok,
                generations_failed: r.failed,
                generations_cancelled: r.cancelled,
                prompt_tokens: r.prompt_tokens,
                completion_tokens: r.completion_tokens,
                latency,
            }
        })
        .collect();
    // Latency samples of a model without counted generations (cannot happen through
    // record_generation, but keeps the numbers honest after a partial rebuild).
    for ((model, provider), (h, s)) in per_model {
        models.push(ModelStats {
            model,
            provider,
            latency: LatencySummary::from_histogram(&h, s),
            ..ModelStats::default()
        });
    }
    let overall: Vec<(i32, i64)> = overall.into_iter().collect();

    let (limit, _) = clamp_page(top, 0);
    let top_characters: Vec<CharacterRow> = load(
        conn,
        &format!(
            "SELECT cd.character_id AS character_id, c.name AS name, {} AS messages \
             FROM character_daily cd LEFT JOIN characters c ON c.id = cd.character_id \
             WHERE cd.day BETWEEN ? AND ? GROUP BY cd.character_id, c.name \
             ORDER BY messages DESC, cd.character_id LIMIT ?",
            sum("cd.messages")
        ),
        vec![Arg::Date(from), Arg::Date(to), Arg::Int(limit)],
    )?;

    Ok(Overview {
        from: Some(from),
        to: Some(to),
        users_total,
        users_new,
        users_active,
        users_monthly_active,
        days: days.into_values().collect(),
        models,
        latency: LatencySummary::from_histogram(&overall, overall_sum),
        top_characters: top_characters
            .into_iter()
            .map(|r| CharacterStats {
                character_id: CharacterId(r.character_id),
                name: r.name,
                messages: r.messages,
            })
            .collect(),
    })
}
