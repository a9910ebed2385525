//! Pure types shared by every service. No I/O lives here: only ids, entity enums, validated input
//! newtypes, the one [`ErrorCode`] and the versioned schemas carried on Redis and the WebSocket.

pub mod context;
pub mod entities;
pub mod error;
pub mod events;
pub mod frames;
pub mod ids;
pub mod jobs;
pub mod lorebook;
pub mod notifications;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod reactions;
pub mod trace;
pub mod validate;

pub use entities::*;
pub use error::{ErrorBody, ErrorCode, FieldError};
pub use ids::*;
pub use validate::{
    bounded_text, bounded_text_opt, Email, HttpUrl, MessageContent, Password, Username,
    ValidationError,
};
