DROP TABLE usage_charges;
DROP TABLE usage_daily;
