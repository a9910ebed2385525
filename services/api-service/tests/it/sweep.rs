//! Every route of the URL table, swept: a stranger's token on someone else's resources, no
//! token, malformed and oversized bodies, bad ids. Nothing answers 5xx, every refusal carries the
//! JSON error body, and the owner's data is unchanged afterwards.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use testkit::both_backends;

/// (method, path template) for every route, parsed from the URL table like the OpenAPI test.
fn routes() -> Vec<(Method, String)> {
    let src: String = include_str!("../../src/routes/mod.rs")
        .split_whitespace()
        .collect();
    let mut out = Vec::new();
    let mut scope = String::new();
    let mut rest = src.as_str();
    while !rest.is_empty() {
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
            out.push((
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("/api/v1{scope}{sub}"),
            ));
        }
        rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
    }
    assert!(out.len() > 60, "parsed the URL table");
    out
}

/// The owner's resources, created through the API.
struct Owned {
    user: i64,
    character: i64,
    conversation: i64,
    message: i64,
    server: i64,
    channel: i64,
    story: i64,
    prompt: i64,
    request: i64,
    persona: i64,
    lorebook: i64,
}

fn fill(template: &str, ids: &Owned) -> String {
    let scope_id = if template.starts_with("/api/v1/characters") {
        ids.character
    } else if template.starts_with("/api/v1/servers") {
        ids.server
    } else if template.starts_with("/api/v1/stories") {
        ids.story
    } else if template.starts_with("/api/v1/prompts") {
        ids.prompt
    } else if template.starts_with("/api/v1/users") {
        ids.user
    } else if template.starts_with("/api/v1/friends") {
        ids.request
    } else if template.starts_with("/api/v1/personas") {
        ids.persona
    } else if template.starts_with("/api/v1/lorebooks") {
        ids.lorebook
    } else {
        ids.conversation
    };
    template
        .replace("{id}", &scope_id.to_string())
        .replace("{message_id}", &ids.message.to_string())
        .replace("{user_id}", &ids.user.to_string())
        .replace("{channel_id}", &ids.channel.to_string())
        .replace("{character_id}", &ids.character.to_string())
        .replace("{lorebook_id}", &ids.lorebook.to_string())
        .replace("{emoji}", "%F0%9F%91%8D")
}

/// What a stranger may legitimately do with the owner's ids.
fn allowed_for_stranger(method: &Method, template: &str) -> bool {
    matches!(
        (method.as_str(), template),
        ("GET", "/api/v1/users/{id}") | ("GET", "/api/v1/prompts")
    ) || !template.contains('{')
}

async fn snapshot(app: &TestApp, token: &str, ids: &Owned) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        format!("/api/v1/characters/{}", ids.character),
        format!("/api/v1/conversations/{}", ids.conversation),
        format!("/api/v1/conversations/{}/messages", ids.conversation),
        format!("/api/v1/servers/{}", ids.server),
        format!("/api/v1/stories/{}", ids.story),
        "/api/v1/prompts".to_owned(),
        "/api/v1/friends/requests".to_owned(),
        format!("/api/v1/personas/{}", ids.persona),
        format!("/api/v1/lorebooks/{}", ids.lorebook),
        format!("/api/v1/conversations/{}/settings", ids.conversation),
        format!("/api/v1/conversations/{}/lorebooks", ids.conversation),
    ] {
        let mut body = app.get(&path, token).await.expect(200);
        // Unread counts and read markers may legitimately move; the rest must not.
        if let Some(obj) = body.as_object_mut() {
            obj.remove("unread_count");
        }
        out.push(body);
    }
    out
}

fn assert_refusal(method: &Method, path: &str, status: u16, body: &Value) {
    assert!(status < 500, "{method} {path} answered {status}: {body}");
    if status >= 400 {
        assert!(
            body["code"].is_string(),
            "{method} {path} {status} without error body: {body}"
        );
    }
}

both_backends!(strangers_are_refused_everywhere_and_change_nothing, |app| {
    let owner = app.admin("owner").await;
    let friend = app.register("friend").await;
    let stranger = app.register("stranger").await;
    let character = app.character(&owner, "Private", false).await;
    let conversation = app.ai_chat(&owner, character).await;
    let message = app
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &owner.token,
            json!({"content": "mine"}),
        )
        .await
        .expect(202)["message"]["id"]
        .as_i64()
        .unwrap();
    let server = app
        .post(
            "/api/v1/servers",
            &owner.token,
            json!({"name": "Private guild"}),
        )
        .await
        .expect(201);
    let story = app
        .post("/api/v1/stories", &owner.token, json!({"prompt": "a tale"}))
        .await
        .expect(202)["id"]
        .as_i64()
        .unwrap();
    let prompt = app
        .post(
            "/api/v1/prompts",
            &owner.token,
            json!({"name": "p", "content": "c"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let request = app
        .post(
            "/api/v1/friends/requests",
            &owner.token,
            json!({"user_id": friend.id}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let persona = app
        .post("/api/v1/personas", &owner.token, json!({"name": "Me"}))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let lorebook = app
        .post(
            "/api/v1/lorebooks",
            &owner.token,
            json!({"book": {"entries": [{"keys": ["k"], "content": "c"}]}}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/conversations/{conversation}/lorebooks"),
        &owner.token,
        json!({"lorebook_id": lorebook}),
    )
    .await
    .expect(200);
    let ids = Owned {
        user: owner.id,
        character,
        conversation,
        message,
        server: server["id"].as_i64().unwrap(),
        channel: server["channels"][0]["id"].as_i64().unwrap(),
        story,
        prompt,
        request,
        persona,
        lorebook,
    };
    let before = snapshot(&app, &owner.token, &ids).await;

    for (method, template) in routes() {
        let path = fill(&template, &ids);
        let body = json!({"content": "x", "name": "x", "title": "x", "user_id": ids.user, "role": "member", "message_id": ids.message, "character_id": ids.character, "refresh_token": "x", "ids": [ids.prompt], "invite_code": "nope", "prompt": "x", "lorebook_id": ids.lorebook, "persona_id": ids.persona, "book": {"entries": []}, "author_note": "x"});
        // No token at all.
        let anon = app
            .request(method.clone(), &path, None, Some(body.clone()))
            .await;
        let public = matches!(
            template.as_str(),
            "/api/v1/auth/register" | "/api/v1/auth/login" | "/api/v1/auth/refresh"
        );
        if !public {
            assert_eq!(
                anon.status, 401,
                "{method} {path} without a token: {}",
                anon.body
            );
        }
        assert_refusal(&method, &path, anon.status.as_u16(), &anon.body);
        // A stranger's token on the owner's resources.
        if !allowed_for_stranger(&method, &template) {
            let r = app
                .request(
                    method.clone(),
                    &path,
                    Some(&stranger.token),
                    Some(body.clone()),
                )
                .await;
            assert!(
                (400..500).contains(&r.status.as_u16()),
                "{method} {path} let a stranger through: {} {}",
                r.status,
                r.body
            );
            assert_refusal(&method, &path, r.status.as_u16(), &r.body);
        }
    }
    assert_eq!(
        before,
        snapshot(&app, &owner.token, &ids).await,
        "a stranger changed the owner's data"
    );
});

both_backends!(malformed_bodies_and_bad_ids_never_reach_500, |app| {
    let owner = app.admin("owner").await;
    let character = app.character(&owner, "C", false).await;
    let conversation = app.ai_chat(&owner, character).await;
    let server = app
        .post("/api/v1/servers", &owner.token, json!({"name": "G"}))
        .await
        .expect(201);
    let ids = Owned {
        user: owner.id,
        character,
        conversation,
        message: 1,
        server: server["id"].as_i64().unwrap(),
        channel: server["channels"][0]["id"].as_i64().unwrap(),
        story: 1,
        prompt: 1,
        request: 1,
        persona: 1,
        lorebook: 1,
    };
    let huge = vec![b'a'; 2 * 1024 * 1024];
    for (method, template) in routes() {
        let path = fill(&template, &ids);
        let token = Some(owner.token.as_str());
        if method != Method::GET && method != Method::DELETE {
            for (kind, bytes) in [
                ("not json", b"{oops".to_vec()),
                ("not utf-8", vec![0xff, 0xfe, 0x7b, 0x22]),
                ("wrong type", b"[1,2,3]".to_vec()),
                ("huge", huge.clone()),
            ] {
                let r = app
                    .raw(method.clone(), &path, token, "application/json", bytes)
                    .await;
                // Actions that take no body ignore one; everything else must refuse it.
                let takes_no_body = [
                    "/join",
                    "/leave",
                    "/accept",
                    "/reject",
                    "/regenerate",
                    "/continue",
                    "/pin",
                    "/archive",
                    "/pins/{message_id}",
                    "/reactions/{emoji}",
                ]
                .iter()
                .any(|suffix| template.ends_with(suffix) && template.contains('{'));
                if !takes_no_body {
                    assert!(
                        (400..500).contains(&r.status.as_u16()),
                        "{method} {path} {kind}: {} {}",
                        r.status,
                        r.body
                    );
                }
                assert_refusal(&method, &path, r.status.as_u16(), &r.body);
            }
        }
        if template.contains('{') {
            for bad in ["abc", "-1", "99999999999999999999", "0"] {
                let bad_path = template
                    .replace("{id}", bad)
                    .replace("{message_id}", bad)
                    .replace("{user_id}", bad)
                    .replace("{channel_id}", bad)
                    .replace("{character_id}", bad);
                let r = app
                    .request(
                        method.clone(),
                        &bad_path,
                        token,
                        Some(json!({"content": "x"})),
                    )
                    .await;
                assert!(
                    (400..500).contains(&r.status.as_u16()),
                    "{method} {bad_path}: {} {}",
                    r.status,
                    r.body
                );
                assert_refusal(&method, &bad_path, r.status.as_u16(), &r.body);
            }
        }
    }
});
