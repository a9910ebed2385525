//! A real PostgreSQL cluster in a temporary directory on an ephemeral loopback port.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::process::{find_binary, free_port, reap_when_parent_exits};

const PG_DIRS: &[&str] = &[
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/17/bin",
];

/// A running PostgreSQL cluster owned by this test binary.
pub struct PgCluster {
    root: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    child: Mutex<Option<Child>>,
    templates: Mutex<HashMap<String, String>>,
}

impl PgCluster {
    /// The cluster shared by every test in this binary, started on first use.
    pub fn shared() -> &'static PgCluster {
        crate::install_tls();
        static SHARED: OnceLock<PgCluster> = OnceLock::new();
        SHARED.get_or_init(PgCluster::start)
    }

    /// Starts a cluster of its own (for tests that stop and restart the server).
    pub fn start() -> PgCluster {
        crate::install_tls();
        let initdb = find_binary("initdb", PG_DIRS).expect(
            "PostgreSQL server binaries not found (initdb): install the Debian package postgresql-15",
        );
        let bin_dir = initdb.parent().map(Path::to_path_buf).unwrap_or_default();
        let root = tempfile::Builder::new()
            .prefix("chatkit-pg-")
            .tempdir()
            .expect("create PostgreSQL temp dir")
            .keep();
        // PostgreSQL refuses to run as root: when we are root, the cluster belongs to `postgres`.
        let run_as = if is_root() {
            Some(postgres_ids())
        } else {
            None
        };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid)).expect("chown PostgreSQL dir");
        }
        let data = root.join("data");
        let status = command(&bin_dir.join("initdb"), run_as)
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run initdb");
        assert!(
            status.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let cluster = PgCluster {
            root,
            bin_dir,
            port: free_port(),
            run_as,
            child: Mutex::new(None),
            templates: Mutex::new(HashMap::new()),
        };
        cluster.start_server();
        cluster
    }

    fn start_server(&self) {
        let data = self.root.join("data");
        let log = std::fs::File::create(self.root.join("server.log")).expect("create pg log");
        if let Some((uid, gid)) = self.run_as {
            let _ = std::os::unix::fs::chown(self.root.join("server.log"), Some(uid), Some(gid));
        }
        let child = command(&self.bin_dir.join("postgres"), self.run_as)
            .arg("-D")
            .arg(&data)
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(&self.root)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=400",
                "-c",
                "shared_buffers=128MB",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        reap_when_parent_exits(child.id(), "QUIT", &self.root);
        *self.child.lock().expect("pg child lock") = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if PgConnection::establish(&self.admin_url()).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not become ready: {}",
                std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown); `resume` brings it back on the same port with its data.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().expect("pg child lock").take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    pub fn resume(&self) {
        self.start_server();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for the given database on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn admin_url(&self) -> String {
        self.url("postgres")
    }

    fn admin(&self) -> PgConnection {
        PgConnection::establish(&self.admin_url()).expect("connect to PostgreSQL admin database")
    }

    /// A new, empty database, dropped when the returned value is dropped.
    pub fn fresh_database(&'static self) -> TestDatabase {
        let name = crate::unique_name("t");
        self.create_database(&name, None);
        TestDatabase {
            cluster: self,
            name,
        }
    }

    /// A new database copied from a template that `init` prepared once per binary (migrations, say).
    /// `init` gets the template's URL and must close its connections before returning.
    pub fn database_from_template(
        &'static self,
        key: &str,
        init: impl FnOnce(&str),
    ) -> TestDatabase {
        let template = {
            let mut templates = self.templates.lock().expect("template lock");
            match templates.get(key) {
                Some(t) => t.clone(),
                None => {
                    let t = crate::unique_name(&format!("tpl_{key}"));
                    self.create_database(&t, None);
                    init(&self.url(&t));
                    templates.insert(key.to_owned(), t.clone());
                    t
                }
            }
        };
        let name = crate::unique_name("t");
        self.create_database(&name, Some(&template));
        TestDatabase {
            cluster: self,
            name,
        }
    }

    fn create_database(&self, name: &str, template: Option<&str>) {
        let sql = match template {
            Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        // Copying a template fails while another session briefly touches it; retry a few times.
        let mut last_err = None;
        for _ in 0..50 {
            match diesel::sql_query(&sql).execute(&mut self.admin()) {
                Ok(_) => return,
                Err(e) => {
                    last_err = Some(e);
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        panic!("create database {name}: {last_err:?}");
    }
}

/// One test's own database; dropped (with its connections) when this value is dropped.
pub struct TestDatabase {
    cluster: &'static PgCluster,
    name: String,
}

impl TestDatabase {
    pub fn url(&self) -> String {
        self.cluster.url(&self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.cluster.admin_url()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

fn command(program: &Path, run_as: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(program);
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    cmd
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The uid and gid of the `postgres` system user, from /etc/passwd.
fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .expect("running as root needs a `postgres` system user (install postgresql-15)")
}
