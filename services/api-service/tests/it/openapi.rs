//! The OpenAPI document covers every route of the URL table; /docs renders it.

use std::collections::BTreeSet;

use crate::helpers::TestApp;

#[tokio::test]
async fn openapi_covers_every_route_and_docs_render() {
    let app = TestApp::spawn(testkit::services::Backend::Sqlite).await;
    let spec: serde_json::Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented: BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    // Every route in routes::configure, written as the spec writes it. The source is flattened so
    // routes that rustfmt spread over several lines parse like one-liners.
    let routes: String = include_str!("../../src/routes/mod.rs")
        .split_whitespace()
        .collect();
    let mut expected = BTreeSet::new();
    let mut scope = String::new();
    let mut rest = routes.as_str();
    while let Some(pos) = rest.find(['.', 'w']) {
        rest = &rest[pos..];
        if let Some(tail) = rest.strip_prefix("web::scope(\"") {
            scope = tail.split('"').next().unwrap().to_owned();
        } else if let Some(tail) = rest.strip_prefix(".route(\"") {
            let sub = tail.split('"').next().unwrap();
            let method = tail
                .split("web::")
                .nth(1)
                .unwrap()
                .split('(')
                .next()
                .unwrap()
                .to_uppercase();
            expected.insert(format!("{method} /api/v1{scope}{sub}"));
        }
        rest = &rest[1..];
    }
    assert!(expected.len() > 30, "parsed the URL table: {expected:?}");
    let missing: Vec<_> = expected.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );

    let docs = reqwest::get(app.url("/docs/")).await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("swagger"));
}

/// Every operation documents the answers the shared plumbing can give, every error answer has the
/// problem body, and every success body has a real schema (a typed client can be generated).
#[tokio::test]
async fn every_response_is_described() {
    let app = TestApp::spawn(testkit::services::Backend::Sqlite).await;
    let spec: serde_json::Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            let at = format!("{} {path}", method.to_uppercase());
            for status in ["400", "422", "429", "503"] {
                assert!(has(status), "{at} documents {status}");
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(has("401"), "{at} documents 401");
            }
            if path.contains('{') {
                assert!(has("404"), "{at} documents 404");
            }
            if op.get("requestBody").is_some() {
                assert!(has("413") && has("415"), "{at} documents 413 and 415");
            }
            for (status, response) in responses {
                let content = &response["content"];
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        content["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{at} {status} has the problem body"
                    );
                    continue;
                }
                let Some(content) = content.as_object() else {
                    continue;
                };
                for (media, body) in content {
                    let schema = &body["schema"];
                    let schema = if schema["type"] == "array" {
                        &schema["items"]
                    } else {
                        schema
                    };
                    let opaque = schema.get("$ref").is_none()
                        && schema.get("properties").is_none()
                        && schema.get("allOf").is_none()
                        && schema.get("oneOf").is_none()
                        && schema["type"] == "object";
                    assert!(!opaque, "{at} {status} {media} has a real schema: {schema}");
                }
            }
        }
    }
    assert!(operations > 60, "walked the document: {operations}");
    // The message search answers a page of messages, each described field by field.
    let search = &spec["paths"]["/api/v1/messages/search"]["get"]["responses"]["200"]["content"];
    assert!(
        search.to_string().contains("MessageView"),
        "search page refers to MessageView: {search}"
    );
    let message = &spec["components"]["schemas"]["MessageView"]["properties"];
    for field in ["id", "content", "status", "role", "created_at"] {
        assert!(message[field].is_object(), "MessageView.{field}");
    }
}

/// A known path asked with a method it lacks is 405 with `Allow` (not 404); unknown paths stay 404.
#[tokio::test]
async fn wrong_method_on_a_known_path_is_405() {
    let app = TestApp::spawn(testkit::services::Backend::Sqlite).await;
    let resp = app
        .http
        .put(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, PATCH");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    assert_eq!(body["status"], 405);

    let resp = app
        .http
        .delete(app.url("/api/v1/stories/5"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET");

    for path in [
        "/api/v1/nothing",
        "/api/v1/users/me/more",
        "/api/v1/stories/5/x",
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }
}
