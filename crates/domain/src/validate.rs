//! Parse, don't validate: input becomes one of these types once, at the edge, and code behind the
//! edge never re-checks it.

use serde::{Deserialize, Serialize};

/// A rejected input, naming the field so clients can show the message beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
    /// For length and range rules: the limit that was broken, so clients need not parse it out
    /// of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            limit: None,
        }
    }

    /// A text longer than `max` characters (the limit travels as data too).
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self {
            limit: Some(max as u64),
            ..Self::new(field, format!("must be at most {max} characters"))
        }
    }
}

/// Checks a free-text field: trimmed length in characters within `min..=max`, no NUL bytes.
pub fn bounded_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if value.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    if len < min {
        return Err(ValidationError::new(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(ValidationError::too_long(field, max));
    }
    Ok(trimmed.to_owned())
}

/// [`bounded_text`] for an optional field: `None` stays `None` (the field is left unchanged).
pub fn bounded_text_opt(
    field: &str,
    value: Option<&str>,
    min: usize,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    value.map(|v| bounded_text(field, v, min, max)).transpose()
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// 3–32 characters of ASCII letters, digits, `_`, `.` and `-`, starting with a letter or digit.
    Username
);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        let len = s.chars().count();
        if !(3..=32).contains(&len) {
            return Err(ValidationError::new(
                "username",
                "must be 3 to 32 characters",
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(ValidationError::new(
                "username",
                "may contain only letters, digits, '_', '.' and '-'",
            ));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::new(
                "username",
                "must start with a letter or digit",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

string_newtype!(
    /// A lower-cased e-mail address of a plausible shape (one `@`, a dotted domain, ≤ 254 chars).
    Email
);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().to_lowercase();
        let err = || ValidationError::new("email", "must be a valid e-mail address");
        if s.len() > 254 || s.chars().any(char::is_whitespace) {
            return Err(err());
        }
        let (local, domain) = s.split_once('@').ok_or_else(err)?;
        if local.is_empty() || domain.contains('@') || local.len() > 64 {
            return Err(err());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err(err());
        }
        Ok(Self(s))
    }
}

/// A new password: 8–128 characters with at least one letter and one digit. Never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if !(8..=128).contains(&len) {
            return Err(ValidationError::new(
                "password",
                "must be 8 to 128 characters",
            ));
        }
        if !raw.chars().any(char::is_alphabetic) || !raw.chars().any(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new(
                "password",
                "must contain at least one letter and one digit",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

string_newtype!(
    /// An absolute `http`/`https` URL of at most 2048 characters (avatars, attachments).
    HttpUrl
);

impl HttpUrl {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        let ok_scheme = s.starts_with("https://") || s.starts_with("http://");
        let has_host = s
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !ok_scheme || !has_host || s.len() > 2048 || s.chars().any(char::is_whitespace) {
            return Err(ValidationError::new(
                field,
                "must be an absolute http(s) URL",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

string_newtype!(
    /// The content of a chat message: non-empty, at most the deployment's limit in characters.
    MessageContent
);

impl MessageContent {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, ValidationError> {
        if raw.contains('\0') {
            return Err(ValidationError::new(
                "content",
                "must not contain NUL characters",
            ));
        }
        if raw.trim().is_empty() {
            return Err(ValidationError::new("content", "must not be empty"));
        }
        let len = raw.chars().count();
        if len > max_chars {
            return Err(ValidationError {
                message: format!("must be at most {max_chars} characters (got {len})"),
                ..ValidationError::too_long("content", max_chars)
            });
        }
        Ok(Self(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_accepts_the_allowed_alphabet_and_rejects_the_rest() {
        assert_eq!(
            Username::parse("  alice_01 ").map(|u| u.into_inner()),
            Ok("alice_01".into())
        );
        for bad in ["ab", "", "has space", "émile", "_lead", &"x".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn email_is_lowercased_and_shape_checked() {
        assert_eq!(
            Email::parse("Alice@Example.COM").map(|e| e.into_inner()),
            Ok("alice@example.com".into())
        );
        for bad in [
            "alice",
            "a@b",
            "@example.com",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn password_needs_length_letter_and_digit_and_never_prints() {
        assert!(Password::parse("short1").is_err());
        assert!(Password::parse("lettersonly").is_err());
        assert!(Password::parse("12345678").is_err());
        let p = Password::parse("correct horse 9").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn message_content_counts_characters_not_bytes() {
        let korean = "안".repeat(200);
        assert!(MessageContent::parse(&korean, 200).is_ok());
        let err = MessageContent::parse(&format!("{korean}!"), 200).unwrap_err();
        assert!(err.message.contains("201"));
        assert!(MessageContent::parse("   ", 200).is_err());
        assert!(MessageContent::parse("a\0b", 200).is_err());
    }

    #[test]
    fn bounded_text_trims_and_reports_limits() {
        assert_eq!(bounded_text("name", "  Bob ", 1, 10), Ok("Bob".into()));
        assert_eq!(
            bounded_text("name", " ", 1, 10).unwrap_err().message,
            "must not be empty"
        );
        assert!(bounded_text("name", "abcdefghijk", 1, 10).is_err());
    }

    #[test]
    fn http_url_requires_scheme_and_host() {
        assert!(HttpUrl::parse("avatar_url", "https://cdn.example.com/a.png").is_ok());
        for bad in [
            "ftp://x.com/a",
            "https://",
            "javascript:alert(1)",
            "https:///path",
            "http://a b",
        ] {
            assert!(HttpUrl::parse("avatar_url", bad).is_err(), "{bad:?}");
        }
    }
}
