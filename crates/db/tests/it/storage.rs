//! A SQLite file on a filesystem that really fills up (issue 14): writes fail as
//! `DbError::Storage` (503), and they work again once there is room, without a new pool. (Whether
//! `ping` reports such a disk down depends on how much space SQLite already holds in its WAL file;
//! `/ready` during a fault is tested in api-service's `storage::` tests.)
//!
//! Needs a small tmpfs, which only root may mount; elsewhere the test says so and passes (the
//! same mapping is covered without root by api-service's `storage::` tests).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use db::DbError;
use diesel::RunQueryDsl;
use domain::ErrorCode;

/// A 2 MB tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        mounted.status.success().then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// Writes zeros until the filesystem is full; returns the filler file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    while file
        .write_all(&chunk)
        .and_then(|()| file.sync_data())
        .is_ok()
    {}
    path
}

async fn insert_probe_sized(pool: &db::DbPool) -> Result<(), DbError> {
    db::run(pool, |c| {
        diesel::sql_query("INSERT INTO storage_probes (payload) VALUES (?)")
            .bind::<diesel::sql_types::Text, _>("z".repeat(16 * 1024))
            .execute(c)?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_full_disk_is_a_storage_fault_until_there_is_room_again() {
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let url = format!("sqlite://{}", disk.path().join("chat.db").display());
    let pool = db::connect(&url, 1).await.unwrap();
    db::migrate(&pool).await.unwrap();
    db::ping(&pool).await.unwrap();

    let filler = fill(disk.path());
    let mut failure = None;
    for _ in 0..500 {
        if let Err(e) = insert_probe_sized(&pool).await {
            failure = Some(e);
            break;
        }
    }
    let failure = failure.expect("a full disk refuses writes");
    assert!(matches!(failure, DbError::Storage(_)), "{failure:?}");
    assert_eq!(failure.code(), ErrorCode::Unavailable);
    std::fs::remove_file(filler).unwrap();
    db::ping(&pool).await.expect("ready once there is room");
    insert_probe_sized(&pool).await.expect("writes work again");
}
