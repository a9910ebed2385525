-- Issue 14: after a storage fault (disk full, read-only) `/ready` writes and deletes one row here
-- to learn whether the database can store again. Rows live for one probe.
CREATE TABLE storage_probes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT NOT NULL
);
