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
    // Every route in routes::configure, written as the spec writes it.
    let routes = include_str!("../../src/routes/mod.rs");
    let mut expected = BTreeSet::new();
    let mut scope = String::new();
    for line in routes.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("web::scope(\"") {
            scope = rest.split('"').next().unwrap().to_owned();
        }
        if let Some(rest) = line.strip_prefix(".route(\"") {
            let sub = rest.split('"').next().unwrap();
            let method = rest
                .split("web::")
                .nth(1)
                .unwrap()
                .split('(')
                .next()
                .unwrap()
                .to_uppercase();
            let (scope_name, sub) = (scope.clone(), sub.to_owned());
            let path = format!("/api/v1{scope_name}{sub}");
            if scope_name.starts_with('/') {
                expected.insert(format!("{method} {path}"));
            }
        }
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
