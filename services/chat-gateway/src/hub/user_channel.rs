//! Events on a user's channel: a revoked session closes every socket of the user, removal
//! from a conversation ends those subscriptions at once, a changed block list updates the
//! fan-out filter, and everything else is forwarded as a `notification` frame.

use std::sync::Arc;

use domain::events::{TracedUserEvent, UserEvent};
use domain::frames::ServerFrame;
use domain::UserId;
use tracing::Instrument;

use super::handle::SocketHandle;
use super::tables::{Blocked, ConnEntry, ConnId, Hub, Inner};
use crate::protocol::{self, close};
use crate::socket::Out;

impl Hub {
    pub(super) async fn on_user_event(&self, user: UserId, payload: &str) {
        let TracedUserEvent { event, trace } = match serde_json::from_str(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, %user, "undecodable user event");
                return;
            }
        };
        // As for conversation events (`routing::delivery_span`): a child of the publisher's
        // span when it was traced and this replica exports.
        match trace.filter(|_| platform::telemetry::exporting()) {
            Some(trace) => {
                let span = tracing::info_span!(
                    "deliver_user",
                    otel.kind = "consumer",
                    messaging.operation.type = "process",
                    user.id = %user,
                );
                trace.parent_of(&span);
                self.on_decoded_user_event(user, event)
                    .instrument(span)
                    .await
            }
            None => self.on_decoded_user_event(user, event).await,
        }
    }

    async fn on_decoded_user_event(&self, user: UserId, event: UserEvent) {
        match event {
            UserEvent::SessionRevoked => {
                for socket in self.user_sockets(user, true) {
                    socket.control.close(close::UNAUTHORIZED, "session revoked");
                }
            }
            UserEvent::SessionEnded { ref session_id } => {
                for socket in self.session_sockets(user, session_id) {
                    socket.control.close(close::UNAUTHORIZED, "session ended");
                }
            }
            UserEvent::ConversationRemoved { conversation_id } => {
                // Membership is checked at subscribe; a member removed later must stop
                // receiving at once.
                let conns: Vec<(ConnId, SocketHandle, bool)> = {
                    let inner = self.lock();
                    inner
                        .users
                        .get(&user)
                        .map(|u| {
                            u.conns
                                .iter()
                                .filter_map(|c| inner.conns.get(c).map(|e| (*c, e)))
                                .filter(|(_, e)| e.subs.contains(&conversation_id))
                                .map(|(c, e)| (c, e.socket.clone(), e.simple))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                for (conn, socket, simple) in conns {
                    self.unsubscribe(conn, conversation_id).await;
                    if simple {
                        socket
                            .control
                            .close(close::POLICY, "removed from the conversation");
                    } else {
                        let frame = protocol::server_frame(&ServerFrame::Unsubscribed {
                            id: None,
                            conversation_id,
                        });
                        socket.push(Out::frame(frame), &self.metrics);
                    }
                }
                self.forward_notification(user, &event);
            }
            UserEvent::BlocksChanged { ref blocked } => {
                let set = (!blocked.is_empty())
                    .then(|| Arc::new(blocked.iter().copied().collect::<Blocked>()));
                {
                    let mut inner = self.lock();
                    let Inner {
                        convs,
                        conns,
                        users,
                    } = &mut *inner;
                    for conn in users
                        .get(&user)
                        .map(|u| u.conns.clone())
                        .unwrap_or_default()
                    {
                        let Some(entry) = conns.get(&conn) else {
                            continue;
                        };
                        for conversation in entry.subs.iter() {
                            if let Some(sub) = convs
                                .get_mut(conversation)
                                .and_then(|c| c.subs.get_mut(&conn))
                            {
                                sub.blocked = set.clone();
                            }
                        }
                    }
                }
                self.forward_notification(user, &event);
            }
            other => self.forward_notification(user, &other),
        }
    }

    fn forward_notification(&self, user: UserId, event: &UserEvent) {
        let frame = protocol::server_frame(&ServerFrame::Notification {
            event: event.clone(),
        });
        for socket in self.user_sockets(user, false) {
            socket.push(Out::frame(frame.clone()), &self.metrics);
        }
    }

    /// The user's sockets opened with tokens of `session` (logout, refresh-token reuse).
    fn session_sockets(&self, user: UserId, session: &str) -> Vec<SocketHandle> {
        self.sockets_where(user, |e| e.session.as_deref() == Some(session))
    }

    fn user_sockets(&self, user: UserId, include_simple: bool) -> Vec<SocketHandle> {
        self.sockets_where(user, |e| include_simple || !e.simple)
    }

    fn sockets_where(&self, user: UserId, keep: impl Fn(&ConnEntry) -> bool) -> Vec<SocketHandle> {
        let inner = self.lock();
        inner
            .users
            .get(&user)
            .map(|u| {
                u.conns
                    .iter()
                    .filter_map(|c| inner.conns.get(c))
                    .filter(|e| keep(e))
                    .map(|e| e.socket.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}
