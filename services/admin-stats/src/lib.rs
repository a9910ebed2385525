//! admin-stats: the admin API, usage statistics and operational views (DESIGN §1).

pub mod startup;
