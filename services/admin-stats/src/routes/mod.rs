//! The only URL table of the admin API (everything under `/api/v1/admin`, admins only). One
//! module per resource; the shared query parsing lives here.
//!
//! Handlers authenticate first (`AuthUser`: 401), then require the admin role (403), and only
//! then read the path, query and body (422/404) — so a non-admin learns nothing from a request's
//! validation.

use actix_web::{web, HttpRequest};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::ErrorCode;
use platform::{ApiError, AuthUser};
use serde::de::DeserializeOwned;

pub mod overview;
pub mod realtime;
pub mod records;
pub mod usage;
pub mod users;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(users::list_users))
        .route("/users/{id}", web::get().to(users::get_user))
        .route("/users/{id}", web::patch().to(users::update_user))
        .route(
            "/users/{id}/conversations",
            web::get().to(records::list_user_conversations),
        )
        .route(
            "/users/{id}/conversations/{conversation_id}/messages",
            web::get().to(records::list_user_messages),
        )
        .route("/users/{id}/usage", web::get().to(usage::get_user_usage))
        .route("/usage.csv", web::get().to(usage::export_usage_csv))
        .route("/stats/overview", web::get().to(overview::get_overview))
        .route("/realtime", web::get().to(realtime::get_realtime));
}

/// The caller, if an admin (403 otherwise).
pub fn admin(user: &AuthUser) -> Result<(), ApiError> {
    user.require_admin()
}

/// The query string as `T`; malformed or unknown parameters are 422.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::new(ErrorCode::Validation, format!("invalid query string: {e}")))
}

/// A numeric path segment; anything else names no resource (404).
pub fn path_id(req: &HttpRequest, name: &str) -> Result<i64, ApiError> {
    req.match_info()
        .get(name)
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| ApiError::not_found("no such resource"))
}

pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

/// limit/offset of the admin lists: limit 1–100 (default 20), offset ≥ 0.
pub fn page_bounds(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ApiError> {
    const MAX_LIMIT: i64 = 100;
    let limit = limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::validation("offset", "must not be negative"));
    }
    Ok((limit, offset))
}

/// A reporting period: whole UTC days from `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// Without `to`, today; without `from`, the 30 days ending with `to`.
    pub const DEFAULT_DAYS: i64 = 30;

    /// Parses `from`/`to` as `YYYY-MM-DD` (or an RFC 3339 instant, whose UTC day counts).
    /// Inverted ranges and ranges longer than [`db::stats::MAX_RANGE_DAYS`] are refused.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, ApiError> {
        let to = match to {
            Some(s) => parse_day("to", s)?,
            None => today,
        };
        let from = match from {
            Some(s) => parse_day("from", s)?,
            None => to
                .checked_sub_days(chrono::Days::new(Self::DEFAULT_DAYS as u64 - 1))
                .unwrap_or(to),
        };
        if from > to {
            return Err(ApiError::validation("from", "must not be after `to`"));
        }
        if (to - from).num_days() + 1 > db::stats::MAX_RANGE_DAYS {
            return Err(ApiError::validation(
                "to",
                format!(
                    "the range may span at most {} days",
                    db::stats::MAX_RANGE_DAYS
                ),
            ));
        }
        Ok(Self { from, to })
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

fn parse_day(field: &str, value: &str) -> Result<NaiveDate, ApiError> {
    let value = value.trim();
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        if value.len() == 10 {
            return Ok(day);
        }
    }
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Utc).date_naive())
        .map_err(|_| {
            ApiError::validation(
                field,
                "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn ranges_default_to_the_last_30_days() {
        let today = day("2026-03-31");
        let r = DateRange::parse(None, None, today).ok();
        assert_eq!(
            r,
            Some(DateRange {
                from: day("2026-03-02"),
                to: today
            })
        );
        assert_eq!(r.map(|r| r.days()), Some(30));
        let r = DateRange::parse(Some("2026-01-01T23:30:00-02:00"), Some("2026-01-05"), today);
        assert_eq!(r.ok().map(|r| r.from), Some(day("2026-01-02")));
    }

    #[test]
    fn bad_ranges_are_refused() {
        let today = day("2026-03-31");
        for (from, to) in [
            (Some("2026-02-30"), None),
            (Some("yesterday"), None),
            (Some("2026-3-1"), None),
            (None, Some("2026-03-31x")),
            (Some("2026-03-10"), Some("2026-03-09")),
            (Some("2024-01-01"), Some("2026-01-01")),
        ] {
            assert!(
                DateRange::parse(from, to, today).is_err(),
                "{from:?}..{to:?}"
            );
        }
        assert!(DateRange::parse(Some("2025-01-01"), Some("2026-01-01"), today).is_ok());
        assert!(DateRange::parse(Some("2025-01-01"), Some("2026-01-02"), today).is_err());
    }
}
