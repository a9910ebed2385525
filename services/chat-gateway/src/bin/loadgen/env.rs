//! The benchmark's own environment, all on 127.0.0.1: a redis-server and two chat-gateway
//! processes (children of this process, killed when it ends), a SQLite database with the
//! users and conversations, and tokens for them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use db::conversations::NewConversationRow;
use domain::{ConversationId, ConversationKind, MemberRole, Role, UserId};
use platform::{JwtKeys, Settings};

/// PIDs of the children, for the watchdog to end them (by id) if the run overstays.
pub static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

const SECRET: &str = "loadgen-secret-loadgen-secret-loadgen-0123";

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
}

impl Proc {
    fn spawn(name: &str, cmd: &mut Command) -> anyhow::Result<Proc> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        if let Ok(mut list) = CHILDREN.lock() {
            list.push(child.id());
        }
        Ok(Proc { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Gateway {
    pub proc: Proc,
    pub port: u16,
}

pub struct Env {
    /// Held for their lifetime: the database directory and redis-server end with the `Env`.
    _dir: tempfile::TempDir,
    _redis: Proc,
    pub gateways: Vec<Gateway>,
    pub settings: Settings,
    pub pool: db::DbPool,
    pub bus: bus::Bus,
    pub keys: JwtKeys,
    gateway_bin: PathBuf,
}

fn wait_for_port(port: u16, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("{what} did not start listening on 127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(())
}

impl Env {
    pub async fn start(gateway_bin: &Path, replicas: usize) -> anyhow::Result<Env> {
        let dir = tempfile::Builder::new().prefix("loadgen-").tempdir()?;
        let redis_port = free_port()?;
        let redis = Proc::spawn(
            "redis-server",
            Command::new("redis-server")
                .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--maxclients", "10000"])
                .arg("--dir")
                .arg(dir.path()),
        )?;
        wait_for_port(redis_port, "redis-server")?;

        let db_url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let mut settings =
            Settings::for_tests(&db_url, &format!("redis://127.0.0.1:{redis_port}"), "lg:")?;
        settings.auth.jwt_secret = SECRET.to_owned();
        settings.redis.pool_size = 32;
        settings.database.pool_size = 8;
        let (pool, bus) = platform::connect(&settings).await?;
        db::migrate(&pool).await?;
        let keys = JwtKeys::new(&settings.auth);
        let mut env = Env {
            _dir: dir,
            _redis: redis,
            gateways: Vec::new(),
            settings,
            pool,
            bus,
            keys,
            gateway_bin: gateway_bin.to_owned(),
        };
        for _ in 0..replicas {
            let g = env.spawn_gateway()?;
            env.gateways.push(g);
        }
        for g in &env.gateways {
            wait_for_port(g.port, "chat-gateway")?;
        }
        Ok(env)
    }

    pub fn spawn_gateway(&self) -> anyhow::Result<Gateway> {
        let port = free_port()?;
        let mut command = Command::new(&self.gateway_bin);
        // The gateway's own limits (`APP__GATEWAY__*`) and allocator tunables pass through, so
        // a run can try other settings; everything else is set here.
        command.env_clear().envs(std::env::vars().filter(|(k, _)| {
            k.starts_with("APP__GATEWAY__")
                || k == "GLIBC_TUNABLES"
                || k.starts_with("MALLOC_")
                // `--trace-sample`: the exporter's settings (issue 23).
                || k.starts_with("OTEL_")
        }));
        let proc = Proc::spawn(
            "chat-gateway",
            command
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("APP_ENV", "development")
                .env("DATABASE_URL", &self.settings.database.url)
                .env("REDIS_URL", &self.settings.redis.url)
                .env("JWT_SECRET", SECRET)
                .env("APP__REDIS__KEY_PREFIX", &self.settings.redis.key_prefix)
                .env("APP__HTTP__HOST", "127.0.0.1")
                .env("APP__HTTP__GATEWAY_PORT", port.to_string())
                .env("APP__DATABASE__POOL_SIZE", "8")
                .env("APP__LOG__FILTER", "warn")
                // The bench measures fan-out, not the per-user send limit.
                .env("APP__RATE_LIMIT__SENDS_PER_MINUTE", "100000"),
        )?;
        Ok(Gateway { proc, port })
    }

    /// `n` users with tokens valid for an hour.
    pub async fn users(&self, n: usize, tag: &str) -> anyhow::Result<Vec<(UserId, String)>> {
        let tag = tag.to_owned();
        let rows = db::run(&self.pool, move |c| {
            db::transaction(c, |c| {
                (0..n)
                    .map(|i| {
                        let name = format!("{tag}{i}");
                        db::users::insert(
                            c,
                            db::users::NewUserRow::new(&name, &format!("{name}@bench.local"), "x"),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
        })
        .await?;
        rows.into_iter()
            .map(|r| {
                let t = self
                    .keys
                    .issue_with_ttl(r.id, &r.username, Role::User, 3600)?;
                Ok((r.id, t.token))
            })
            .collect::<Result<Vec<_>, platform::ApiError>>()
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    pub async fn conversation(&self, members: &[UserId]) -> anyhow::Result<ConversationId> {
        let list: Vec<(UserId, MemberRole)> =
            members.iter().map(|u| (*u, MemberRole::Member)).collect();
        let new = NewConversationRow::new(ConversationKind::Group, members.first().copied());
        Ok(db::run(&self.pool, move |c| {
            db::conversations::insert_with_members(c, new, &list)
        })
        .await?
        .id)
    }

    pub fn redis_pid(&self) -> u32 {
        self._redis.pid()
    }

    pub fn pids(&self) -> Vec<u32> {
        self.gateways.iter().map(|g| g.proc.pid()).collect()
    }
}

/// CPU time (user + system) of a process, from /proc.
pub fn cpu_time(pid: u32, ticks_per_sec: f64) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    Duration::from_secs_f64(ticks / ticks_per_sec)
}

/// Resident set size in bytes.
pub fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
