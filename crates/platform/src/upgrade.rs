//! Handing an upgraded connection (WebSocket) over to its owner, out of the HTTP server.
//!
//! actix-http streams an upgraded connection as a never-ending response body, and for that whole
//! time its dispatcher keeps an 8 KiB read buffer, an 8 KiB write buffer and a request payload
//! channel per connection: ~17 KB for a socket that is idle most of its life. A server built with
//! [`RunningServer::bind_upgradable`](crate::server::RunningServer::bind_upgradable) instead
//! routes every `Connection: Upgrade` request through the same `App` (same routes, middleware,
//! authentication and JSON errors), and when the handler answers `101 Switching Protocols` with a
//! [`Takeover`] in the response extensions, it writes the response head and gives the bare TCP
//! stream, plus any bytes the client already sent, to the takeover, which runs as its own task
//! on the same worker. The HTTP connection task ends there (its buffers and the app's request
//! futures, ~20 KB during a handshake, are freed); the socket costs what the takeover keeps.
//!
//! Any other answer to an upgrade request (401, 404, 503, …) is written in full with
//! `Connection: close`.

use std::rc::Rc;

use actix_codec::Framed;
use actix_http::body::{BodySize, MessageBody};
use actix_http::{h1, ConnectionType, Request};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use bytes::BytesMut;
use futures_util::future::LocalBoxFuture;
use futures_util::SinkExt;
use tokio::net::TcpStream;

/// The connection after the `101` response head went out.
#[derive(Debug)]
pub struct Upgraded {
    pub io: TcpStream,
    /// Bytes the client sent after its request head (the start of its first frames).
    pub read_buf: BytesMut,
}

type TakeoverFn = Box<dyn FnOnce(Upgraded) -> LocalBoxFuture<'static, ()>>;

/// Put into the extensions of a `101 Switching Protocols` response: the server calls it with the
/// connection instead of streaming a body, and spawns the returned future on the worker that
/// accepted the connection. The connection lives as long as that future; the HTTP server no
/// longer counts or drains it (its owner does), and it is dropped with the worker when the
/// server stops.
pub struct Takeover(TakeoverFn);

impl Takeover {
    pub fn new<F, Fut>(run: F) -> Self
    where
        F: FnOnce(Upgraded) -> Fut + 'static,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        Self(Box::new(move |upgraded| Box::pin(run(upgraded))))
    }
}

/// Serves one upgrade request: the app answers it; a `101` with a [`Takeover`] gets the stream.
/// Never an error for actix-http: a client that leaves mid-handshake is not worth an error log,
/// and an error from the app is answered with its JSON body like any other refusal.
pub(crate) async fn serve<S, B>(
    app: Rc<S>,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let mut response: actix_http::Response<B> = match app.call(req).await {
        Ok(response) => response.into(),
        Err(e) => {
            Box::pin(refuse(framed, e.error_response().into())).await;
            return Ok(());
        }
    };
    let takeover = response.extensions_mut().remove::<Takeover>();
    match takeover {
        Some(Takeover(run)) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            if let Err(e) = framed
                .send((response.drop_body(), BodySize::None).into())
                .await
            {
                tracing::debug!(error = %e, "client left during the upgrade");
                return Ok(());
            }
            let parts = framed.into_parts();
            // The write buffer is empty after the flush above; only unread input is kept. A task
            // of its own, so this connection's HTTP task (and all it holds) ends now.
            actix_web::rt::spawn(run(Upgraded {
                io: parts.io,
                read_buf: parts.read_buf,
            }));
        }
        // Boxed: every handshake's future is as large as its largest state, and refusals are rare.
        _ => Box::pin(refuse(framed, response)).await,
    }
    Ok(())
}

/// Writes a refusal (any answer but a `101` with a takeover) whole, then closes the connection.
async fn refuse<B: MessageBody>(
    mut framed: Framed<TcpStream, h1::Codec>,
    response: actix_http::Response<B>,
) {
    let (mut head, body) = response.into_parts();
    // A body that cannot be read is left out rather than turned into a broken response.
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    head.head_mut().set_connection_type(ConnectionType::Close);
    // Head and body in one write (`feed` them, then one `flush`; actix-codec's `close` shuts the
    // stream down without writing its buffer).
    let written = async {
        framed
            .feed((head, BodySize::Sized(bytes.len() as u64)).into())
            .await?;
        if !bytes.is_empty() {
            framed.feed(h1::Message::Chunk(Some(bytes))).await?;
        }
        framed.feed(h1::Message::Chunk(None)).await?;
        framed.flush().await?;
        framed.close().await
    };
    if let Err(e) = written.await {
        tracing::debug!(error = %e, "client left before its refusal was written");
    }
}
