//! Per-user usage and the CSV export, with bad input answered as 4xx JSON.

use chrono::Duration;
use db::stats::GenerationOutcome;
use domain::{MessageId, Role, UserId};

use crate::helpers::today;
use testkit::both_backends;

both_backends!(a_users_usage_per_day_and_model, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let yesterday = today() - Duration::days(1);
    app.generation(
        "j1",
        alice.id,
        None,
        "openai/gpt-4o",
        yesterday,
        GenerationOutcome::Ok,
        None,
        (100, 10),
    )
    .await;
    app.generation(
        "j2",
        alice.id,
        None,
        "mock",
        today(),
        GenerationOutcome::Ok,
        None,
        (1, 2),
    )
    .await;
    app.generation(
        "j3",
        alice.id,
        None,
        "openai/gpt-4o",
        today(),
        GenerationOutcome::Ok,
        None,
        (5, 5),
    )
    .await;
    let id = alice.id;
    db::run(&app.db, move |c| {
        db::stats::record_user_message(c, id, None, today(), MessageId(10))
    })
    .await
    .unwrap();

    let base = format!("/api/v1/admin/users/{}/usage", alice.id);
    let from = today() - Duration::days(6);
    let by_day = app
        .get(&format!("{base}?from={from}&to={}", today()), &root.token)
        .await
        .expect(200);
    assert_eq!(by_day["group_by"], "day");
    let items = by_day["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "every day of the period");
    assert_eq!(items[5]["day"], yesterday.to_string());
    assert_eq!(items[5]["total_tokens"], 110);
    assert_eq!(items[6]["replies"], 2);
    assert_eq!(items[6]["messages"], 1);
    assert_eq!(items[0]["total_tokens"], 0);
    let totals = &by_day["totals"];
    assert_eq!(
        (
            totals["prompt_tokens"].as_i64(),
            totals["completion_tokens"].as_i64(),
            totals["total_tokens"].as_i64()
        ),
        (Some(106), Some(17), Some(123))
    );
    assert_eq!(
        (totals["messages"].as_i64(), totals["replies"].as_i64()),
        (Some(1), Some(3))
    );

    let by_model = app
        .get(&format!("{base}?group_by=model"), &root.token)
        .await
        .expect(200);
    let models: Vec<(String, i64, i64)> = by_model["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["model"].as_str().unwrap().to_owned(),
                m["total_tokens"].as_i64().unwrap(),
                m["replies"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("mock".to_owned(), 3, 1),
            ("openai/gpt-4o".to_owned(), 120, 2)
        ]
    );
    assert_eq!(by_model["totals"]["total_tokens"], 123);
    assert!(by_model["items"][0].get("day").is_none());

    app.get("/api/v1/admin/users/999999/usage", &root.token)
        .await
        .expect(404);
    let t = today();
    for bad in [
        "from=2026-02-30".to_owned(),
        "from=last-week".to_owned(),
        "to=20260101".to_owned(),
        format!("from={t}&to={}", t - Duration::days(1)),
        format!("from={}&to={t}", t - Duration::days(400)),
        "group_by=week".to_owned(),
        "group_by=".to_owned(),
        "from=9999999-01-01".to_owned(),
        "limit=1".to_owned(),
    ] {
        let body = app
            .get(&format!("{base}?{bad}"), &root.token)
            .await
            .expect(422);
        assert_eq!(body["code"], "validation", "{bad}");
    }
    let body = app
        .get(
            &format!("{base}?from={t}&to={}", t - Duration::days(1)),
            &root.token,
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "from");
});

both_backends!(usage_exports_as_csv, |app| {
    let root = app.admin("root").await;
    let tricky = app
        .user_with("bob, \"the builder\"", "bob@example.com", Role::User)
        .await;
    let alice = app.user("alice").await;
    let day = today() - Duration::days(2);
    app.generation(
        "j1",
        alice.id,
        None,
        "openai/gpt-4o",
        day,
        GenerationOutcome::Ok,
        None,
        (10, 5),
    )
    .await;
    app.generation(
        "j2",
        tricky.id,
        None,
        "=cmd/evil",
        day,
        GenerationOutcome::Ok,
        None,
        (1, 1),
    )
    .await;

    let from = today() - Duration::days(7);
    let r = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/admin/usage.csv?from={from}&to={}", today()),
            Some(&root.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        r.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("attachment; filename=\"usage_{from}_{}.csv\"", today())
    );
    let lines: Vec<&str> = r.text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "day,user_id,username,email,model,provider,replies,prompt_tokens,completion_tokens,total_tokens"
    );
    assert_eq!(
        lines[1],
        format!("{day},{},\"bob, \"\"the builder\"\"\",bob@example.com,\"'=cmd/evil\",\"'=cmd\",1,1,1,2", tricky.id)
    );
    assert_eq!(
        lines[2],
        format!(
            "{day},{},alice,alice@example.com,openai/gpt-4o,openai,1,10,5,15",
            alice.id
        )
    );
    assert_eq!(lines[3], "", "the last row ends with CRLF");
    assert_eq!(lines.len(), 4);

    for bad in ["from=nope", "to=2026-13-01", "group_by=day"] {
        app.get(&format!("/api/v1/admin/usage.csv?{bad}"), &root.token)
            .await
            .expect(422);
    }
    let t = today();
    app.get(
        &format!(
            "/api/v1/admin/usage.csv?from={}&to={t}",
            t - Duration::days(366)
        ),
        &root.token,
    )
    .await
    .expect(422);
});

both_backends!(large_exports_stream_in_batches, |app| {
    let root = app.admin("root").await;
    let mut users = Vec::new();
    for i in 0..7 {
        users.push(app.user(&format!("user{i}")).await.id);
    }
    // 7 users × 300 days: more rows than one export batch.
    let start = today() - Duration::days(299);
    let ids: Vec<UserId> = users.clone();
    db::run(&app.db, move |c| {
        db::transaction(c, |c| {
            for (u, user) in ids.iter().enumerate() {
                for d in 0..300 {
                    let job = format!("job-{u}-{d}");
                    db::usage::charge(c, &job, *user, start + Duration::days(d), "mock/x", 1, 1)?;
                }
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let r = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/admin/usage.csv?from={start}&to={}", today()),
            Some(&root.token),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let rows: Vec<&str> = r.text.trim_end().split("\r\n").skip(1).collect();
    assert_eq!(rows.len(), 2100);
    let mut keys: Vec<(String, i64)> = rows
        .iter()
        .map(|l| {
            let mut f = l.split(',');
            (
                f.next().unwrap().to_owned(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let in_order = keys.windows(2).all(|w| w[0] < w[1]);
    keys.dedup();
    assert!(in_order && keys.len() == 2100, "no row twice, none skipped");
});
