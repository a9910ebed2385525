//! Access tokens: short-lived HS256 JWTs carrying the user id, role and a `jti`, plus the
//! `AuthUser` extractor every protected handler takes. Revocation (logout, deactivation) is
//! checked in Redis so it holds across replicas the moment it happens.

#[cfg(feature = "http")]
use std::future::Future;
#[cfg(feature = "http")]
use std::pin::Pin;

#[cfg(feature = "http")]
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use domain::{Role, UserId};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthSettings;
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id, as a string per RFC 7519.
    pub sub: String,
    pub name: String,
    pub role: Role,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    /// The session (refresh-token family) the token was issued in: logout and refresh-token
    /// reuse end the session, and with it every access token of it. Absent on tokens issued
    /// before sessions existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs and verifies access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl_secs: i64,
}

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub expires_in: i64,
}

impl JwtKeys {
    pub fn new(settings: &AuthSettings) -> Self {
        let secret = settings.jwt_secret.as_bytes();
        // Only HS256 is accepted: tokens claiming `none` or another algorithm fail to decode.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.issuer.clone(),
            ttl_secs: settings.access_ttl_secs,
        }
    }

    pub fn issue(
        &self,
        user_id: UserId,
        username: &str,
        role: Role,
    ) -> Result<IssuedToken, ApiError> {
        self.issue_with_ttl(user_id, username, role, self.ttl_secs)
    }

    /// Issues a token of a session (see [`Claims::sid`]).
    pub fn issue_in_session(
        &self,
        user_id: UserId,
        username: &str,
        role: Role,
        session: &str,
    ) -> Result<IssuedToken, ApiError> {
        self.sign(user_id, username, role, self.ttl_secs, Some(session))
    }

    /// Issues a token with an explicit lifetime (negative for already-expired test tokens).
    pub fn issue_with_ttl(
        &self,
        user_id: UserId,
        username: &str,
        role: Role,
        ttl_secs: i64,
    ) -> Result<IssuedToken, ApiError> {
        self.sign(user_id, username, role, ttl_secs, None)
    }

    fn sign(
        &self,
        user_id: UserId,
        username: &str,
        role: Role,
        ttl_secs: i64,
        session: Option<&str>,
    ) -> Result<IssuedToken, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            name: username.to_owned(),
            role,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat: now,
            exp: now + ttl_secs,
            iss: self.issuer.clone(),
            sid: session.map(str::to_owned),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok(IssuedToken {
            token,
            jti: claims.jti,
            expires_in: ttl_secs,
        })
    }

    /// Verifies signature, algorithm, issuer and expiry. Does not check revocation.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("access token expired")
                }
                _ => ApiError::unauthorized("invalid access token"),
            })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }
}

/// What handlers need to authenticate a request; registered as app data by each service.
#[derive(Clone)]
pub struct Authenticator {
    pub keys: JwtKeys,
    pub bus: bus::Bus,
}

impl Authenticator {
    /// Verifies a token and checks that neither it nor its user's sessions were revoked.
    pub async fn authenticate(&self, token: &str) -> Result<AuthUser, ApiError> {
        let claims = self.keys.verify(token)?;
        let id: i64 = claims
            .sub
            .parse()
            .map_err(|_| ApiError::unauthorized("invalid access token"))?;
        let user_id = UserId(id);
        let revoked = self
            .bus
            .token_revocations(&claims.jti, claims.sid.as_deref(), user_id)
            .await?;
        if revoked.jti {
            return Err(ApiError::unauthorized("access token revoked"));
        }
        if revoked.session
            || revoked
                .user_before
                .is_some_and(|b| claims.iat <= b.timestamp())
        {
            return Err(ApiError::unauthorized("session revoked"));
        }
        Ok(AuthUser {
            id: user_id,
            username: claims.name,
            role: claims.role,
            jti: claims.jti,
            expires_at: claims.exp,
            session: claims.sid,
        })
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub jti: String,
    pub expires_at: i64,
    /// The session the token belongs to ([`Claims::sid`]).
    pub session: Option<String>,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses non-admins with 403.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("administrator role required"))
        }
    }
}

#[cfg(feature = "http")]
/// The bearer token of a request: `Authorization: Bearer …`, or `?token=…` (browsers cannot set
/// headers on WebSocket upgrades).
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    web::Query::<TokenQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().token)
}

#[cfg(feature = "http")]
#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[cfg(feature = "http")]
impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let auth = req.app_data::<web::Data<Authenticator>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let auth = auth.ok_or_else(|| ApiError::internal("Authenticator not registered"))?;
            let token = token.ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
            let user = auth.authenticate(&token).await?;
            // The request span (`metrics::request_span`) declares the field: its logs and its
            // trace name the user.
            tracing::Span::current().record("user.id", tracing::field::display(user.id));
            Ok(user)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        let settings = crate::config::Settings::defaults().unwrap().auth;
        JwtKeys::new(&settings)
    }

    #[test]
    fn issued_token_verifies_with_its_claims() {
        let k = keys();
        let t = k.issue(UserId(42), "alice", Role::Admin).unwrap();
        let c = k.verify(&t.token).unwrap();
        assert_eq!(c.sub, "42");
        assert_eq!(c.role, Role::Admin);
        assert_eq!(c.jti, t.jti);
    }

    #[test]
    fn expired_forged_and_alg_none_tokens_are_refused() {
        let k = keys();
        let expired = k.issue_with_ttl(UserId(1), "a", Role::User, -60).unwrap();
        assert_eq!(
            k.verify(&expired.token).unwrap_err().detail,
            "access token expired"
        );

        let mut other = crate::config::Settings::defaults().unwrap().auth;
        other.jwt_secret = "another-secret-another-secret-another".into();
        let forged = JwtKeys::new(&other)
            .issue(UserId(1), "a", Role::Admin)
            .unwrap();
        assert!(k.verify(&forged.token).is_err());

        // alg:none — header {"alg":"none","typ":"JWT"} with the same claims and no signature.
        let payload = forged.token.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(k.verify(&none).is_err());
        assert!(k.verify("not-a-token").is_err());
    }
}
