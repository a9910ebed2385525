//! Extractor configuration every service registers, so malformed input anywhere gets our JSON
//! error body and body limits hold.

use actix_web::web;

use crate::error;

pub fn configure_extractors(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(error::json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .app_data(web::PathConfig::default().error_handler(error::path_error))
    .app_data(
        web::FormConfig::default()
            .limit(body_limit)
            .error_handler(error::form_error),
    )
    .app_data(web::PayloadConfig::new(body_limit));
}

/// The routes and app data every service registers: `/health`, `/ready`, `/metrics`, the
/// readiness probes and the extractor error handlers.
pub fn configure_common(
    cfg: &mut web::ServiceConfig,
    readiness: crate::ops::Readiness,
    body_limit: usize,
) {
    configure_extractors(cfg, body_limit);
    cfg.app_data(web::Data::new(readiness));
    crate::ops::configure(cfg);
}

/// Connections the kernel queues for `accept` (capped by `net.core.somaxconn`). std's listener
/// asks for 128: a reconnect storm (every client of a dead replica at once) overflowed it, and
/// each dropped SYN cost its client a 1 s retransmit.
const LISTEN_BACKLOG: i32 = 4096;

/// Binds the service's listening socket. Port 0 picks a free port (tests). Like std's
/// `TcpListener::bind`, every address `host` resolves to is tried in turn.
pub fn bind(host: &str, port: u16) -> std::io::Result<std::net::TcpListener> {
    use std::net::ToSocketAddrs;
    let mut last_error = None;
    for addr in (host, port).to_socket_addrs()? {
        match listen_on(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{host}: no address"),
        )
    }))
}

fn listen_on(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    // As std does: a restarted service can bind its port while old connections linger.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_backlog_instead_of_being_dropped() {
        // Nobody accepts: every connection must fit in the kernel's queue. With std's backlog
        // of 128 the rest would be dropped and retried by the client a second later.
        let listener = super::bind("127.0.0.1", 0).unwrap();
        let addr = listener.local_addr().unwrap();
        let connects = (0..600).map(|_| async move {
            tokio::time::timeout(
                Duration::from_millis(700),
                tokio::net::TcpStream::connect(addr),
            )
            .await
        });
        let results = futures_util::future::join_all(connects).await;
        let connected = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        assert_eq!(connected, 600, "connections queued without a retransmit");
        drop(listener);
    }
}
