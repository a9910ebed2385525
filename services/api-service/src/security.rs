//! Password hashing and refresh-token minting. bcrypt is CPU-heavy, so it runs on the blocking
//! pool with the caller's span, never on an async worker thread.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use platform::ApiError;

pub async fn hash_password(password: String, cost: u32) -> Result<String, ApiError> {
    run_blocking(move || bcrypt::hash(password, cost).map_err(ApiError::internal)).await
}

/// Verifies `password` against `hash`. With no account, it hashes the password at the same cost
/// instead, so login takes the same time whether or not the account exists (the answer is false).
pub async fn verify_password(
    password: String,
    hash: Option<String>,
    cost: u32,
) -> Result<bool, ApiError> {
    run_blocking(move || match hash {
        Some(h) => Ok(bcrypt::verify(password, &h).unwrap_or(false)),
        None => {
            let _ = bcrypt::hash(password, cost);
            Ok(false)
        }
    })
    .await
}

/// A new opaque refresh token and the hash we store (only the hash ever reaches the database).
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Runs CPU-bound work on the blocking pool, keeping the current tracing span.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(ApiError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashed_password_verifies_and_wrong_one_does_not() {
        let hash = hash_password("s3cret-pass".into(), 4).await.unwrap();
        assert!(verify_password("s3cret-pass".into(), Some(hash.clone()), 4)
            .await
            .unwrap());
        assert!(!verify_password("wrong-pass1".into(), Some(hash), 4)
            .await
            .unwrap());
        assert!(!verify_password("s3cret-pass".into(), None, 4)
            .await
            .unwrap());
    }

    #[test]
    fn refresh_tokens_are_random_and_only_their_hash_is_kept() {
        let (a, ha) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a), ha);
        assert!(!ha.contains(&a));
        assert_eq!(ha.len(), 64);
    }
}
