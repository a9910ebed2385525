//! Whether the database can store right now, for `/ready`.
//!
//! `SELECT 1` answers on a full disk or a read-only file, so a ping alone would call such a
//! database ready. Instead every [`DbError::Storage`] a query meets is recorded here, and while
//! one is recorded the readiness check writes a probe row (bigger than a page, so a database that
//! cannot grow fails it) and deletes it again. The first probe that succeeds clears the fault: the
//! service recovers without a restart.

use std::sync::{Arc, Mutex};

use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;

use crate::{DbConn, DbError};

/// Many SQLite pages, so the probe needs new pages like a real insert does. A heuristic on a
/// really full disk: space SQLite already holds (its WAL file) can let a probe pass while larger
/// writes still fail, so `/ready` may turn back to ok early; those writes still answer 503.
const PROBE_BYTES: usize = 64 * 1024;

#[derive(Debug, Default, Clone)]
pub(crate) struct StorageHealth {
    fault: Arc<Mutex<Option<String>>>,
}

impl StorageHealth {
    /// Remembers the fault of a failed query; other errors say nothing about the storage.
    pub(crate) fn observe<T>(&self, result: &Result<T, DbError>) {
        if let Err(DbError::Storage(reason)) = result {
            if let Ok(mut fault) = self.fault.lock() {
                *fault = Some(reason.clone());
            }
        }
    }

    pub(crate) fn fault(&self) -> Option<String> {
        self.fault.lock().ok().and_then(|f| f.clone())
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut fault) = self.fault.lock() {
            *fault = None;
        }
    }
}

#[derive(diesel::QueryableByName)]
struct ProbeRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Writes one probe row and deletes it. Blocking: call it through [`crate::run`].
pub(crate) fn probe_write(conn: &mut DbConn) -> Result<(), DbError> {
    let row: ProbeRow =
        diesel::sql_query("INSERT INTO storage_probes (payload) VALUES ($1) RETURNING id")
            .bind::<Text, _>("x".repeat(PROBE_BYTES))
            .get_result(conn)?;
    diesel::sql_query("DELETE FROM storage_probes WHERE id = $1")
        .bind::<BigInt, _>(row.id)
        .execute(conn)?;
    Ok(())
}
