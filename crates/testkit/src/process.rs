//! Spawning servers that cannot outlive the test binary.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

/// A free TCP port on 127.0.0.1. The port is released before the server binds it; the window is
/// tiny and every server here binds loopback only.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

/// Starts a detached watcher that, once this process is gone, sends `signal` to `server_pid`,
/// waits for it to exit and removes `dir`. Works after a panic, an abort or SIGKILL of the test
/// binary, because it polls our pid rather than relying on destructors.
pub fn reap_when_parent_exits(server_pid: u32, signal: &str, dir: &Path) {
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
         kill -{signal} {server_pid} 2>/dev/null; \
         for i in $(seq 1 50); do kill -0 {server_pid} 2>/dev/null || break; sleep 0.1; done; \
         kill -KILL {server_pid} 2>/dev/null; rm -rf '{dir}'",
        dir = dir.display()
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// Finds an executable by name on PATH or in the given extra directories.
pub fn find_binary(name: &str, extra_dirs: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().map(std::path::PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
