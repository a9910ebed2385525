//! Every admin route answers admins, refuses other users with 403 and anonymous callers with
//! 401 — always with the JSON problem body.

use domain::{ConversationKind, MemberRole};
use reqwest::Method;

use crate::helpers::admin_routes;
use testkit::both_backends;

both_backends!(every_route_is_for_admins_only, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let owner = alice.id;
    let conversation = db::run(&app.db, move |c| {
        db::conversations::insert_with_members(
            c,
            db::conversations::NewConversationRow::new(ConversationKind::Group, Some(owner)),
            &[(owner, MemberRole::Owner)],
        )
    })
    .await
    .unwrap()
    .id
    .0;

    let routes = admin_routes(alice.id, conversation);
    assert_eq!(routes.len(), 9);
    for (method, path, body) in routes {
        let anonymous = app
            .request(method.clone(), &path, None, body.clone())
            .await
            .expect(401);
        assert_eq!(anonymous["code"], "unauthorized", "{method} {path}");
        app.request(method.clone(), &path, Some("not-a-jwt"), body.clone())
            .await
            .expect(401);
        let user = app
            .request(method.clone(), &path, Some(&alice.token), body.clone())
            .await
            .expect(403);
        assert_eq!(user["code"], "forbidden", "{method} {path}");
        // Refused before the query is even looked at: a user learns nothing from validation.
        app.request(
            method.clone(),
            &format!("{path}?from=garbage"),
            Some(&alice.token),
            body.clone(),
        )
        .await
        .expect(403);
        let admin = app
            .request(method.clone(), &path, Some(&root.token), body)
            .await;
        assert_eq!(admin.status, 200, "{method} {path}: {}", admin.text);
    }

    // An admin token for a user that is not an admin any more is just a user token once the
    // role change revoked it — covered in users.rs. Unknown admin routes are JSON 404s.
    app.request(Method::GET, "/api/v1/admin/nope", Some(&root.token), None)
        .await
        .expect(404);
});
