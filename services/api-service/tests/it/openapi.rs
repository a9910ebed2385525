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
