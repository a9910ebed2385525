//! `ApiError`: the one error type of every HTTP handler, rendered once as an RFC 9457 body.
//! Client mistakes get a precise 4xx; server faults get an opaque 5xx whose cause goes to the log.

#[cfg(feature = "http")]
use actix_web::{http::StatusCode, HttpRequest, HttpResponse, ResponseError};
use domain::{ErrorBody, ErrorCode, FieldError, ValidationError};

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds for the `Retry-After` header of 429 and 503 answers.
    pub retry_after: Option<u64>,
    /// The hidden cause of a 5xx, logged but never sent.
    cause: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, detail)
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ValidationError::new(field, message).into()
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(ErrorCode::RateLimited, "too many requests; retry later");
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::Unavailable,
            "a backing service is unavailable; retry shortly",
        );
        e.cause = Some(cause.to_string());
        e.retry_after = Some(1);
        e
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(ErrorCode::Internal, "internal error");
        e.cause = Some(cause.to_string());
        e
    }

    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.code, self.detail.clone());
        body.errors = self.errors.clone();
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(feature = "http")]
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if self.code.http_status() >= 500 {
            tracing::error!(code = self.code.as_str(), cause = ?self.cause, "request failed");
            // On the request's span too (`metrics::request_span` declares the fields), so the
            // trace shows why without the log.
            let span = tracing::Span::current();
            span.record("otel.status_code", "ERROR");
            if let Some(cause) = &self.cause {
                span.record("otel.status_description", cause.as_str());
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if let Some(secs) = self.retry_after {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        response.json(self.body())
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let mut err = Self::new(ErrorCode::Validation, e.to_string());
        err.errors.push(FieldError::from(e));
        err
    }
}

impl From<db::DbError> for ApiError {
    fn from(e: db::DbError) -> Self {
        match e.code() {
            ErrorCode::NotFound => Self::not_found("not found"),
            ErrorCode::Conflict => Self::conflict(e.to_string()),
            ErrorCode::Validation => Self::new(ErrorCode::Validation, e.to_string()),
            ErrorCode::Unavailable => Self::unavailable(e),
            _ => Self::internal(e),
        }
    }
}

impl From<bus::BusError> for ApiError {
    fn from(e: bus::BusError) -> Self {
        match e.code() {
            ErrorCode::Unavailable => Self::unavailable(e),
            _ => Self::internal(e),
        }
    }
}

#[cfg(feature = "http")]
/// Extractor failures (bad JSON, query, path or form) answered in our body instead of actix's
/// plain-text default.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => {
            ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large")
        }
        E::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/json",
        ),
        E::Deserialize(e) if e.is_data() => ApiError::new(ErrorCode::Validation, e.to_string()),
        E::Deserialize(e) => ApiError::bad_request(format!("malformed JSON: {e}")),
        other => ApiError::bad_request(format!("unreadable body: {other}")),
    };
    api.into()
}

#[cfg(feature = "http")]
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    ApiError::new(
        ErrorCode::Validation,
        format!("invalid query string: {err}"),
    )
    .into()
}

#[cfg(feature = "http")]
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::not_found(format!("no such resource ({err})")).into()
}

#[cfg(feature = "http")]
pub fn form_error(err: actix_web::error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as E;
    let api = match &err {
        E::Overflow { .. } => {
            ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large")
        }
        E::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected Content-Type: application/x-www-form-urlencoded",
        ),
        other => ApiError::new(ErrorCode::Validation, format!("invalid form body: {other}")),
    };
    api.into()
}

#[cfg(feature = "http")]
/// Last line of defence: an error answer produced outside our handlers (a body-size limit hit by
/// a raw-bytes extractor, 405 for a wrong method, …) gets the problem body too, so clients can
/// always parse errors the same way. Answers that already carry a JSON body pass unchanged.
pub fn ensure_problem_body<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>>
where
    B: actix_web::body::MessageBody + 'static,
{
    use actix_web::middleware::ErrorHandlerResponse;
    let is_json = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::Validation,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::Unavailable,
        s if s >= 500 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let mut body = ErrorBody::new(
        code,
        status.canonical_reason().unwrap_or("error").to_lowercase(),
    );
    body.status = status.as_u16();
    let (req, _) = res.into_parts();
    let response = HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(body);
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

#[cfg(feature = "http")]
/// Answers unknown routes with a JSON 404.
pub async fn not_found_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such route"))
}

#[cfg(feature = "http")]
/// The answer for a request no route took, under a scope whose documented paths and methods
/// `allowed` knows: 405 with `Allow` when the path exists with other methods, else 404.
pub fn unmatched_route(
    req: &HttpRequest,
    allowed: impl Fn(&str) -> Option<Vec<&'static str>>,
) -> HttpResponse {
    match allowed(req.path()) {
        Some(methods) if !methods.is_empty() => {
            let mut response = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!(
                    "{} is not allowed here; allowed: {}",
                    req.method(),
                    methods.join(", ")
                ),
            )
            .error_response();
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&methods.join(", ")) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            response
        }
        _ => ApiError::not_found("no such route").error_response(),
    }
}

#[cfg(test)]
#[cfg(feature = "http")]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_json(resp: HttpResponse) -> serde_json::Value {
        let bytes = resp.into_body().try_into_bytes().unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let resp = ApiError::internal("password=hunter2 in a query").error_response();
        assert_eq!(resp.status(), 500);
        let v = body_json(resp);
        assert_eq!(v["detail"], "internal error");
        assert!(!v.to_string().contains("hunter2"));
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let resp = ApiError::rate_limited(7).error_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers().get("Retry-After").map(|v| v.as_bytes()),
            Some(&b"7"[..])
        );
        assert_eq!(body_json(resp)["code"], "rate_limited");
    }

    #[test]
    fn validation_error_names_the_field() {
        let resp = ApiError::from(ValidationError::new("username", "too short")).error_response();
        assert_eq!(resp.status(), 422);
        let v = body_json(resp);
        assert_eq!(v["errors"][0]["field"], "username");
    }
}
