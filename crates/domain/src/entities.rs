//! Entity enums stored as text columns and carried in JSON. Each has one string form used both in
//! the database and on the wire, so a row read back never needs a second mapping.

use serde::{Deserialize, Serialize};

/// Declares a string-backed enum with `as_str`, `FromStr` and snake_case serde.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(crate::ValidationError::new(
                        stringify!($name),
                        format!("unknown value `{other}`"),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// A user's global role.
    Role { User => "user", Admin => "admin" }
);

text_enum!(
    /// Who may see a character or a server.
    Visibility { Private => "private", Public => "public" }
);

text_enum!(
    /// What a conversation is.
    ConversationKind {
        AiChat => "ai_chat",
        Direct => "direct",
        Group => "group",
        Channel => "channel",
    }
);

text_enum!(
    /// A member's role in a conversation or a server.
    MemberRole { Owner => "owner", Admin => "admin", Member => "member" }
);

text_enum!(
    /// Whose voice a message is in.
    MessageRole { User => "user", Assistant => "assistant", System => "system" }
);

text_enum!(
    /// What a message carries.
    MessageType { Text => "text", Image => "image", File => "file", System => "system" }
);

text_enum!(
    /// The life cycle of a message; only AI replies pass through `streaming`.
    MessageStatus {
        Streaming => "streaming",
        Complete => "complete",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// A friend request's state.
    FriendshipStatus { Pending => "pending", Accepted => "accepted", Rejected => "rejected" }
);

text_enum!(
    /// A story's generation state.
    StoryStatus {
        Pending => "pending",
        Streaming => "streaming",
        Complete => "complete",
        Failed => "failed",
    }
);

impl MemberRole {
    /// Owners and admins manage members and settings.
    pub fn can_manage(self) -> bool {
        matches!(self, MemberRole::Owner | MemberRole::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn text_enums_round_trip_through_their_string_and_json_forms() {
        for kind in ConversationKind::ALL {
            assert_eq!(ConversationKind::from_str(kind.as_str()).ok(), Some(*kind));
            let json = serde_json::to_string(kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for status in MessageStatus::ALL {
            assert_eq!(MessageStatus::from_str(status.as_str()).ok(), Some(*status));
        }
    }

    #[test]
    fn unknown_text_is_a_validation_error_naming_the_type() {
        let err = MessageRole::from_str("robot").err();
        assert!(err.is_some_and(|e| e.field == "MessageRole" && e.message.contains("robot")));
    }
}
