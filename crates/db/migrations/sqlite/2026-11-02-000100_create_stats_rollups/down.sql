DROP INDEX users_created_at_idx;
DROP TABLE user_monthly;
DROP TABLE user_activity_daily;
DROP TABLE character_daily;
DROP TABLE day_stats;
DROP TABLE latency_daily;
DROP TABLE daily_stats;
DROP TABLE stats_ledger;
