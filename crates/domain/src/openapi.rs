//! What every service's OpenAPI document shares: how a client authenticates, the error answers
//! every operation can give (one RFC 9457 body, [`ErrorBody`](crate::ErrorBody)), and the table
//! of documented paths a server uses to answer a known path with a wrong method (405, not 404).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, Type};
use utoipa::Modify;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Adds the `bearer` (JWT access token) security scheme the handlers' `security(("bearer" = []))`
/// annotations refer to.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Documents the error answers the shared HTTP plumbing gives on every operation, so a handler's
/// annotation lists only its own outcomes:
/// - 400 malformed input (broken JSON, an unreadable body), 422 input that breaks a rule (also
///   bad query strings), 429 rate limited and 503 a backing service down (both with
///   `Retry-After`) — on every operation;
/// - 401 on operations that need a token; 404 on operations with path parameters (an id that
///   does not parse, or names nothing the caller may see); 413 and 415 on operations with a body.
///
/// Every error response, listed here or by a handler, gets the problem body under
/// `application/problem+json`.
pub struct ProblemResponses;

impl ProblemResponses {
    fn standard(path: &str, op: &Operation) -> Vec<(u16, &'static str)> {
        let mut statuses = vec![
            (400, "malformed request (broken JSON or an unreadable body)"),
            (422, "invalid input; `errors` names the fields"),
            (429, "rate limited; retry after `Retry-After` seconds"),
            (
                503,
                "a backing service is unavailable; retry after `Retry-After` seconds",
            ),
        ];
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            statuses.push((401, "missing, invalid or expired access token"));
        }
        if path.contains('{') {
            statuses.push((404, "no such resource, or one the caller may not see"));
        }
        if op.request_body.is_some() {
            statuses.push((413, "request body too large"));
            statuses.push((415, "unsupported `Content-Type`"));
        }
        statuses
    }

    fn problem_content() -> Content {
        Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
    }

    fn retry_after() -> utoipa::openapi::header::Header {
        HeaderBuilder::new()
            .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("seconds to wait before retrying"))
            .build()
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (_, op) in operations_mut(item) {
                for (status, description) in Self::standard(path, op) {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::T(Response::new(description)));
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if !status.starts_with('4') && !status.starts_with('5') {
                        continue;
                    }
                    if response.content.is_empty() {
                        response
                            .content
                            .insert(PROBLEM_JSON.to_owned(), Self::problem_content());
                    }
                    if status == "429" || status == "503" {
                        response
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(Self::retry_after);
                    }
                }
            }
        }
    }
}

/// The operations of a path item with their (upper-case) methods.
fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("OPTIONS", item.options.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("TRACE", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
    .collect()
}

/// The documented paths and their methods, for telling "no such path" (404) from "no such method
/// on this path" (405 with `Allow`).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<&'static str>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

impl RouteTable {
    pub fn new(openapi: &utoipa::openapi::OpenApi) -> Self {
        let routes = openapi
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                let mut item = item.clone();
                let methods = operations_mut(&mut item)
                    .into_iter()
                    .map(|(m, _)| m)
                    .collect();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods documented for `path` (every template it matches), or `None` when no
    /// documented path matches. A parameter matches one non-empty segment.
    pub fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut allowed: Vec<&'static str> = Vec::new();
        let mut matched = false;
        for (segments, methods) in &self.routes {
            let fits = segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(seg, part)| match seg {
                    Segment::Literal(lit) => lit == part,
                    Segment::Param => !part.is_empty(),
                });
            if fits {
                matched = true;
                allowed.extend(methods.iter().copied());
            }
        }
        if !matched {
            return None;
        }
        let order = [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
        ];
        allowed.sort_by_key(|m| order.iter().position(|o| o == m));
        allowed.dedup();
        Some(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
    use utoipa::openapi::request_body::RequestBody;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::OpenApiBuilder;

    fn doc() -> utoipa::openapi::OpenApi {
        let secured = OperationBuilder::new()
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .response("200", Response::new("ok"))
            .response("403", Response::new("forbidden"))
            .build();
        let open_with_body = OperationBuilder::new()
            .request_body(Some(RequestBody::new()))
            .response("201", Response::new("created"))
            .build();
        let mut item = PathItem::new(HttpMethod::Get, secured.clone());
        item.patch = Some(secured);
        OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path("/api/things/{id}", item)
                    .path(
                        "/api/things/mine",
                        PathItem::new(HttpMethod::Get, open_with_body.clone()),
                    )
                    .path(
                        "/api/things",
                        PathItem::new(HttpMethod::Post, open_with_body),
                    ),
            )
            .build()
    }

    fn statuses(doc: &utoipa::openapi::OpenApi, path: &str, method: &str) -> Vec<String> {
        let mut item = doc.paths.paths[path].clone();
        let op = operations_mut(&mut item)
            .into_iter()
            .find(|(m, _)| *m == method)
            .map(|(_, op)| op.clone());
        op.map(|op| op.responses.responses.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn problem_responses_fit_each_operation() {
        let mut doc = doc();
        ProblemResponses.modify(&mut doc);
        assert_eq!(
            statuses(&doc, "/api/things/{id}", "GET"),
            ["200", "400", "401", "403", "404", "422", "429", "503"]
        );
        assert_eq!(
            statuses(&doc, "/api/things", "POST"),
            ["201", "400", "413", "415", "422", "429", "503"]
        );
        let json = serde_json::to_value(&doc).unwrap_or_default();
        let forbidden = &json["paths"]["/api/things/{id}"]["get"]["responses"]["403"];
        assert_eq!(
            forbidden["content"][PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        let limited = &json["paths"]["/api/things"]["post"]["responses"]["429"];
        assert!(limited["headers"]["Retry-After"].is_object());
        assert!(json["paths"]["/api/things"]["post"]["responses"]["201"]["content"].is_null());
    }

    #[test]
    fn route_table_tells_a_wrong_method_from_an_unknown_path() {
        let table = RouteTable::new(&doc());
        assert_eq!(table.allowed("/api/things/7"), Some(vec!["GET", "PATCH"]));
        // A literal segment and a parameter both match: the methods of both.
        assert_eq!(
            table.allowed("/api/things/mine"),
            Some(vec!["GET", "PATCH"])
        );
        assert_eq!(table.allowed("/api/things"), Some(vec!["POST"]));
        assert_eq!(table.allowed("/api/things/"), None);
        assert_eq!(table.allowed("/api/things/7/more"), None);
        assert_eq!(table.allowed("/api/nothing"), None);
    }
}
