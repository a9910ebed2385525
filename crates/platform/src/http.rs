//! Extractor configuration every service registers, so malformed input anywhere gets our JSON
//! error body and body limits hold.

use actix_web::web;

use crate::error;

/// A JSON request body that must be an object. actix's `web::Json` lets serde fill a struct
/// from an array too (`PATCH /users/me ["x","y",null]` set fields by position and answered
/// 200); this refuses anything but an object with 422. Limits, the content type check and the
/// error bodies are `web::Json`'s (its `JsonConfig`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = value.await?;
            if !value.is_object() {
                return Err(crate::ApiError::validation("body", "must be a JSON object").into());
            }
            T::deserialize(value).map(Json).map_err(|e| {
                crate::ApiError::new(domain::ErrorCode::Validation, e.to_string()).into()
            })
        })
    }
}

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

/// The reverse proxies whose forwarding headers are believed (`http.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// From the settings' CIDRs and plain addresses (validated when the settings were loaded;
    /// anything unparsable is left out).
    pub fn new(entries: &[String]) -> Self {
        Self(
            entries
                .iter()
                .filter_map(|e| {
                    e.parse::<ipnet::IpNet>()
                        .ok()
                        .or_else(|| e.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
                })
                .collect(),
        )
    }

    fn trusts(&self, ip: std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for per-IP limits. A request from a trusted proxy names its client
    /// in `X-Forwarded-For` (or `Forwarded: for=`): walking the hops from the nearest, the
    /// first address that is not a trusted proxy is the client. From anyone else the headers
    /// are ignored — a client cannot pick the address its limits are counted against.
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> String {
        let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
            return "unknown".to_owned();
        };
        if !self.trusts(peer) {
            return peer.to_string();
        }
        let hops = forwarded_hops(req.headers());
        hops.iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
            .to_string()
    }
}

/// The addresses a request was forwarded for, client first: `X-Forwarded-For`, else the
/// `for=` parameters of `Forwarded` (RFC 7239). Unparsable entries (obfuscated names,
/// `unknown`) are skipped.
fn forwarded_hops(headers: &actix_web::http::header::HeaderMap) -> Vec<std::net::IpAddr> {
    let xff: Vec<_> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.eq_ignore_ascii_case("for").then_some(value)?;
            let value = value.trim_matches('"');
            // `[2001:db8::1]:4711` or `192.0.2.60:4711` or a bare address.
            let host = match value.strip_prefix('[') {
                Some(v6) => v6.split(']').next()?,
                None => value
                    .split(':')
                    .next()
                    .filter(|_| value.matches(':').count() <= 1)?,
            };
            host.parse().ok()
        })
        .collect()
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

    use super::TrustedProxies;

    fn request(peer: &str, headers: &[(&str, &str)]) -> actix_web::HttpRequest {
        let mut req = actix_web::test::TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        req.to_http_request()
    }

    // Issue 13, hole 6: per-IP limits believed `X-Forwarded-For` from anyone.
    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let none = TrustedProxies::new(&[]);
        let forged = request("203.0.113.9:5000", &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(none.client_ip(&forged), "203.0.113.9");
        let forged = request("203.0.113.9:5000", &[("forwarded", "for=1.2.3.4")]);
        assert_eq!(none.client_ip(&forged), "203.0.113.9");

        let proxies = TrustedProxies::new(&["10.0.0.0/8".into(), "192.168.1.1".into()]);
        // Behind the proxy: the client it names, not what the client claimed before it.
        let via = request(
            "10.1.2.3:5000",
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 192.168.1.1")],
        );
        assert_eq!(proxies.client_ip(&via), "198.51.100.7");
        let via = request(
            "10.1.2.3:5000",
            &[("forwarded", "for=\"[2001:db8::1]:4711\";proto=https")],
        );
        assert_eq!(proxies.client_ip(&via), "2001:db8::1");
        // A stranger outside the trusted range is not believed either.
        let stranger = request("198.51.100.50:5000", &[("x-forwarded-for", "10.9.9.9")]);
        assert_eq!(proxies.client_ip(&stranger), "198.51.100.50");
    }

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
