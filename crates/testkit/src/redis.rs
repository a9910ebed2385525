//! A real `redis-server` on an ephemeral loopback port, without persistence (or with AOF, for
//! fault drills).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::process::{find_binary, free_port, reap_when_parent_exits};

pub struct RedisServer {
    dir: PathBuf,
    port: u16,
    binary: PathBuf,
    /// `appendonly yes`, `appendfsync everysec` (what `make run`, compose and Kubernetes use).
    aof: bool,
    child: Mutex<Option<Child>>,
}

/// One test's view of Redis: the server URL and a key prefix nobody else uses.
#[derive(Clone, Debug)]
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl RedisServer {
    /// The server shared by every test in this binary.
    pub fn shared() -> &'static RedisServer {
        crate::install_tls();
        static SHARED: OnceLock<RedisServer> = OnceLock::new();
        SHARED.get_or_init(RedisServer::start)
    }

    /// A server of its own, for tests that stop and restart Redis.
    pub fn start() -> RedisServer {
        Self::start_persisting(false)
    }

    /// A server of its own that keeps an append-only file (fsync every second), so a kill -9
    /// loses at most about a second of writes.
    pub fn start_with_aof() -> RedisServer {
        Self::start_persisting(true)
    }

    fn start_persisting(aof: bool) -> RedisServer {
        crate::install_tls();
        let binary = find_binary("redis-server", &["/usr/bin", "/usr/local/bin"])
            .expect("redis-server not found: install the Debian package redis-server");
        let dir = tempfile::Builder::new()
            .prefix("chatkit-redis-")
            .tempdir()
            .expect("create redis temp dir")
            .keep();
        let server = RedisServer {
            dir,
            port: free_port(),
            binary,
            aof,
            child: Mutex::new(None),
        };
        server.start_process();
        server
    }

    fn start_process(&self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--daemonize", "no"])
            .args(if self.aof {
                ["--appendonly", "yes", "--appendfsync", "everysec"].as_slice()
            } else {
                ["--appendonly", "no"].as_slice()
            })
            .args(["--maxclients", "20000"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        reap_when_parent_exits(child.id(), "TERM", &self.dir);
        *self.child.lock().expect("redis child lock") = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's data directory (`--dir`): where `SAVE` writes `dump.rdb` and where a
    /// restarted server loads it from, so a test can restore an older snapshot.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// A fresh key prefix on this server.
    pub fn fresh(&self) -> TestRedis {
        TestRedis {
            url: self.url(),
            prefix: format!("{}:", crate::unique_name("t")),
        }
    }

    /// Kills the server with SIGKILL (all data is lost, as in a crash without persistence; with
    /// AOF, what was not yet fsynced).
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().expect("redis child lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn resume(&self) {
        self.start_process();
    }
}
