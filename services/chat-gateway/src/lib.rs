//! chat-gateway: holds WebSocket connections and fans conversation events out (DESIGN §4–§5).

pub mod startup;
