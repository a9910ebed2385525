//! The admin roll-ups: recording is idempotent and adds up, the reports read them back, and a
//! bulk rebuild from messages gives the same numbers as recording one by one.

use chrono::{Duration, NaiveDate, Utc};
use db::characters::{self, NewCharacterRow};
use db::conversations::{self, NewConversationRow};
use db::messages::{self, AssistantReply, NewMessageRow};
use db::stats::{self, GenerationOutcome, GenerationRecord, UserFilter, UserSort, UserTotals};
use db::{usage, DbConn, DbError};
use domain::{CharacterId, ConversationKind, MemberRole, MessageId, MessageStatus, Role, UserId};

use crate::support::user;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn generation(
    job: &str,
    user: UserId,
    model: &str,
    d: NaiveDate,
    outcome: GenerationOutcome,
    latency_ms: Option<i64>,
    tokens: (i64, i64),
) -> GenerationRecord {
    let mut rec = GenerationRecord::new(job, user, model, d, outcome);
    rec.latency_ms = latency_ms;
    rec.prompt_tokens = tokens.0;
    rec.completion_tokens = tokens.1;
    rec
}

fn character(c: &mut DbConn, owner: UserId, name: &str) -> Result<CharacterId, DbError> {
    Ok(characters::insert(c, NewCharacterRow::new(owner, name))?.id)
}

both_backends!(recording_is_idempotent_and_adds_up, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let seraphina = character(c, alice.id, "Seraphina")?;
    let grumpy = character(c, alice.id, "Grumpy")?;

    assert!(stats::record_user_message(
        c,
        alice.id,
        Some(seraphina),
        day(1),
        MessageId(1)
    )?);
    assert!(
        !stats::record_user_message(c, alice.id, Some(seraphina), day(1), MessageId(1))?,
        "the same message is counted once"
    );
    assert!(stats::record_user_message(
        c,
        alice.id,
        Some(seraphina),
        day(1),
        MessageId(2)
    )?);
    assert!(stats::record_user_message(
        c,
        bob.id,
        Some(grumpy),
        day(1),
        MessageId(3)
    )?);
    assert!(stats::record_user_message(
        c,
        bob.id,
        None,
        day(2),
        MessageId(4)
    )?);

    let mut ok = generation(
        "job-1",
        alice.id,
        "openai/gpt-4o",
        day(1),
        GenerationOutcome::Ok,
        Some(1000),
        (100, 20),
    );
    ok.character_id = Some(seraphina);
    assert!(stats::record_generation(c, &ok)?);
    assert!(
        !stats::record_generation(c, &ok)?,
        "a redelivered job is counted once"
    );
    assert!(stats::record_generation(
        c,
        &generation(
            "job-2",
            alice.id,
            "openai/gpt-4o",
            day(1),
            GenerationOutcome::Failed,
            Some(3000),
            (0, 0)
        )
    )?);
    assert!(stats::record_generation(
        c,
        &generation(
            "job-3",
            bob.id,
            "anthropic/claude-sonnet",
            day(2),
            GenerationOutcome::Cancelled,
            None,
            (50, 5)
        )
    )?);
    // A generation for a user with no message that day still makes them active.
    let carol = user(c, "carol")?;
    assert!(stats::record_generation(
        c,
        &generation(
            "job-4",
            carol.id,
            "mock",
            day(2),
            GenerationOutcome::Ok,
            Some(10),
            (1, 1)
        )
    )?);

    let o = stats::overview(c, day(1), day(3), 10)?;
    assert_eq!(o.days.len(), 3, "every day of the range, zero-filled");
    let d1 = &o.days[0];
    assert_eq!(
        (d1.user_messages, d1.active_users, d1.generations_ok),
        (3, 2, 1)
    );
    assert_eq!(
        (
            d1.generations_failed,
            d1.prompt_tokens,
            d1.completion_tokens
        ),
        (1, 100, 20)
    );
    let d2 = &o.days[1];
    assert_eq!(
        (d2.user_messages, d2.active_users, d2.generations_cancelled),
        (1, 2, 1)
    );
    assert_eq!(
        o.days[2],
        stats::DayStats {
            day: day(3),
            ..Default::default()
        }
    );
    assert_eq!(o.users_active, 3);
    assert_eq!(o.users_monthly_active, 3);

    let models: Vec<(&str, &str, i64, i64, i64)> = o
        .models
        .iter()
        .map(|m| {
            (
                m.model.as_str(),
                m.provider.as_str(),
                m.generations_ok,
                m.generations_failed,
                m.generations_cancelled,
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("anthropic/claude-sonnet", "anthropic", 0, 0, 1),
            ("mock", "mock", 1, 0, 0),
            ("openai/gpt-4o", "openai", 1, 1, 0),
        ]
    );
    let gpt = &o.models[2];
    assert_eq!(gpt.latency.samples, 2);
    assert_eq!(gpt.latency.mean_ms, Some(2000.0));
    assert_eq!(
        o.latency.samples, 3,
        "cancelled without latency is not a sample"
    );

    let top: Vec<(CharacterId, Option<&str>, i64)> = o
        .top_characters
        .iter()
        .map(|t| (t.character_id, t.name.as_deref(), t.messages))
        .collect();
    assert_eq!(
        top,
        [
            (seraphina, Some("Seraphina"), 3),
            (grumpy, Some("Grumpy"), 1)
        ],
        "user messages and completed replies count for the character"
    );
    characters::delete(c, grumpy)?;
    let o = stats::overview(c, day(1), day(3), 1)?;
    assert_eq!(o.top_characters.len(), 1, "the limit holds");
    let o = stats::overview(c, day(1), day(1), 10)?;
    assert_eq!(
        o.top_characters[1].name, None,
        "a deleted character keeps its numbers"
    );

    let month = stats::month_start(day(1));
    assert_eq!(
        stats::user_month(c, alice.id, month)?,
        UserTotals {
            messages: 2,
            replies: 1,
            prompt_tokens: 100,
            completion_tokens: 20
        }
    );
    let totals = stats::user_totals(c, &[alice.id, bob.id, UserId(999)])?;
    assert_eq!(totals[&bob.id].messages, 2);
    assert_eq!(totals[&bob.id].total_tokens(), 55);
    assert!(!totals.contains_key(&UserId(999)));
    assert!(
        db::users::find(c, alice.id)?.last_active_at.is_some(),
        "sending marks the user active"
    );
});

both_backends!(recording_rolls_back_with_the_callers_transaction, |c| {
    let alice = user(c, "alice")?;
    let attempt: Result<(), DbError> = db::transaction(c, |c| {
        stats::record_user_message(c, alice.id, None, day(1), MessageId(7))?;
        stats::record_generation(
            c,
            &GenerationRecord::new("job-7", alice.id, "mock", day(1), GenerationOutcome::Ok),
        )?;
        Err(DbError::NotFound)
    });
    assert!(attempt.is_err());
    let o = stats::overview(c, day(1), day(1), 10)?;
    assert_eq!(o.days[0].user_messages, 0);
    assert!(o.models.is_empty());
    // …so the retry of the whole transaction counts them.
    assert!(stats::record_user_message(
        c,
        alice.id,
        None,
        day(1),
        MessageId(7)
    )?);
    assert!(stats::record_generation(
        c,
        &GenerationRecord::new("job-7", alice.id, "mock", day(1), GenerationOutcome::Ok),
    )?);
    assert_eq!(
        stats::overview(c, day(1), day(1), 10)?.days[0].user_messages,
        1
    );

    assert_eq!(stats::prune_ledger(c, db::now() - Duration::days(1))?, 0);
    assert_eq!(stats::prune_ledger(c, db::now() + Duration::days(1))?, 2);
});

both_backends!(users_are_listed_searched_and_sorted, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let carol = user(c, "Carol_X")?;
    db::users::set_role(c, carol.id, Role::Admin)?;
    db::users::set_active(c, bob.id, false)?;
    let today = Utc::now().date_naive();
    let month = stats::month_start(today);
    stats::record_generation(
        c,
        &generation(
            "j1",
            bob.id,
            "mock",
            today,
            GenerationOutcome::Ok,
            None,
            (500, 500),
        ),
    )?;
    stats::record_generation(
        c,
        &generation(
            "j2",
            alice.id,
            "mock",
            today,
            GenerationOutcome::Ok,
            None,
            (10, 10),
        ),
    )?;
    stats::record_user_message(c, alice.id, None, today, MessageId(1))?;
    // Last month does not count for this month.
    let last_month = month - Duration::days(1);
    stats::record_generation(
        c,
        &generation(
            "j3",
            alice.id,
            "mock",
            last_month,
            GenerationOutcome::Ok,
            None,
            (9000, 0),
        ),
    )?;

    let all = UserFilter::default();
    let names = |rows: &[stats::UserListing]| -> Vec<String> {
        rows.iter().map(|r| r.username.clone()).collect()
    };
    let by_tokens = stats::list_users(c, &all, UserSort::TokensMonth, true, month, 10, 0)?;
    assert_eq!(names(&by_tokens), ["bob", "alice", "Carol_X"]);
    assert_eq!(by_tokens[0].month.total_tokens(), 1000);
    assert_eq!(by_tokens[1].month.messages, 1);
    let by_name = stats::list_users(c, &all, UserSort::Username, false, month, 2, 1)?;
    assert_eq!(names(&by_name), ["alice", "bob"], "byte order, paged");
    let by_created = stats::list_users(c, &all, UserSort::CreatedAt, true, month, 10, 0)?;
    assert_eq!(names(&by_created), ["Carol_X", "bob", "alice"]);
    for descending in [true, false] {
        let by_active =
            stats::list_users(c, &all, UserSort::LastActiveAt, descending, month, 10, 0)?;
        assert_eq!(
            by_active[0].username, "alice",
            "never-active users sort last either way"
        );
    }
    let by_messages = stats::list_users(c, &all, UserSort::MessagesMonth, true, month, 10, 0)?;
    assert_eq!(by_messages[0].username, "alice");

    let search = |q: &str| UserFilter {
        search: Some(q.to_owned()),
        ..UserFilter::default()
    };
    for (q, expected) in [
        ("carol", vec!["Carol_X"]),
        ("BOB@EXAMPLE", vec!["bob"]),
        ("_x", vec!["Carol_X"]),
        ("%", vec![]),
        ("example.com", vec!["Carol_X", "alice", "bob"]),
    ] {
        let rows = stats::list_users(c, &search(q), UserSort::Username, false, month, 10, 0)?;
        assert_eq!(names(&rows), expected, "search {q:?}");
        assert_eq!(stats::count_users(c, &search(q))?, expected.len() as i64);
    }
    let admins = UserFilter {
        role: Some(Role::Admin),
        ..UserFilter::default()
    };
    assert_eq!(
        names(&stats::list_users(
            c,
            &admins,
            UserSort::Username,
            false,
            month,
            10,
            0
        )?),
        ["Carol_X"]
    );
    let inactive = UserFilter {
        is_active: Some(false),
        ..UserFilter::default()
    };
    let rows = stats::list_users(c, &inactive, UserSort::Username, false, month, 10, 0)?;
    assert_eq!(names(&rows), ["bob"]);
    assert!(!rows[0].is_active);
    assert_eq!(stats::count_users(c, &all)?, 3);
    assert_eq!(
        stats::user_totals(c, &[alice.id])?[&alice.id].prompt_tokens,
        9010
    );
});

both_backends!(user_usage_by_day_and_model, |c| {
    let alice = user(c, "alice")?;
    usage::charge(c, "a", alice.id, day(1), "openai/gpt-4o", 100, 10)?;
    usage::charge(c, "b", alice.id, day(1), "mock", 1, 1)?;
    usage::charge(c, "c", alice.id, day(3), "openai/gpt-4o", 5, 5)?;
    stats::record_user_message(c, alice.id, None, day(2), MessageId(1))?;
    stats::record_user_message(c, alice.id, None, day(2), MessageId(2))?;
    conversations::insert_with_members(
        c,
        NewConversationRow::new(ConversationKind::Group, Some(alice.id)),
        &[(alice.id, MemberRole::Owner)],
    )?;

    let today = Utc::now().date_naive();
    let by_day = stats::user_usage_by_day(c, alice.id, day(1), day(3))?;
    let summary: Vec<(NaiveDate, i64, i64, i64, i64)> = by_day
        .iter()
        .map(|d| {
            (
                d.day,
                d.prompt_tokens,
                d.completion_tokens,
                d.replies,
                d.messages,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (day(1), 101, 11, 2, 0),
            (day(2), 0, 0, 0, 2),
            (day(3), 5, 5, 1, 0)
        ]
    );
    let started = stats::user_usage_by_day(c, alice.id, today, today)?;
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].conversations, 1,
        "conversations started that day"
    );
    assert_eq!(stats::conversation_count(c, alice.id)?, 1);

    let by_model = stats::user_usage_by_model(c, alice.id, day(1), day(3))?;
    let summary: Vec<(&str, i64, i64, i64)> = by_model
        .iter()
        .map(|m| {
            (
                m.model.as_str(),
                m.prompt_tokens,
                m.completion_tokens,
                m.replies,
            )
        })
        .collect();
    assert_eq!(summary, [("mock", 1, 1, 1), ("openai/gpt-4o", 105, 15, 2)]);
    assert!(stats::user_usage_by_model(c, alice.id, day(4), day(9))?.is_empty());
});

both_backends!(usage_export_pages_with_a_keyset, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    for (job, who, d, model) in [
        ("1", bob.id, 1, "m/a"),
        ("2", alice.id, 1, "m/b"),
        ("3", alice.id, 1, "m/a"),
        ("4", alice.id, 2, "m/a"),
        ("5", bob.id, 9, "m/a"),
    ] {
        usage::charge(c, job, who, day(d), model, 1, 2)?;
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = stats::usage_export_page(c, day(1), day(2), after.as_ref(), 2)?;
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.cursor());
        seen.extend(page.into_iter().map(|r| (r.day, r.username, r.model)));
    }
    let expected: Vec<(NaiveDate, String, String)> = [
        (1, "alice", "m/a"),
        (1, "alice", "m/b"),
        (1, "bob", "m/a"),
        (2, "alice", "m/a"),
    ]
    .iter()
    .map(|(d, u, m)| (day(*d), (*u).to_owned(), (*m).to_owned()))
    .collect();
    assert_eq!(seen, expected);
});

both_backends!(rebuild_from_messages_matches_recording, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let seraphina = character(c, alice.id, "Seraphina")?;
    let mut new = NewConversationRow::new(ConversationKind::AiChat, Some(alice.id));
    new.character_id = Some(seraphina);
    let chat = conversations::insert_with_members(c, new, &[(alice.id, MemberRole::Owner)])?;
    let group = conversations::insert_with_members(
        c,
        NewConversationRow::new(ConversationKind::Group, Some(bob.id)),
        &[(bob.id, MemberRole::Owner)],
    )?;

    fn say(
        c: &mut DbConn,
        conv: domain::ConversationId,
        who: UserId,
        character: Option<CharacterId>,
    ) -> Result<messages::MessageRow, DbError> {
        let m = messages::insert(c, NewMessageRow::user(conv, who, "hi"))?;
        stats::record_user_message(c, who, character, m.created_at.date(), m.id)?;
        Ok(m)
    }
    let q1 = say(c, chat.id, alice.id, Some(seraphina))?;
    let q2 = say(c, chat.id, alice.id, Some(seraphina))?;
    say(c, group.id, bob.id, None)?;
    for (i, (trigger, status, model)) in [
        (&q1, MessageStatus::Complete, Some("openai/gpt-4o")),
        (&q2, MessageStatus::Failed, None),
        (&q2, MessageStatus::Cancelled, Some("mock")),
    ]
    .into_iter()
    .enumerate()
    {
        let job = format!("job-{i}");
        let reply = messages::upsert_assistant_reply(
            c,
            AssistantReply {
                conversation_id: chat.id,
                character_id: Some(seraphina),
                job_id: job.clone(),
                reply_to_id: Some(trigger.id),
                content: "answer".into(),
                status,
                model: model.map(str::to_owned),
                prompt_tokens: Some(10 * (i as i64 + 1)),
                completion_tokens: Some(i as i64),
            },
        )?;
        let outcome = match status {
            MessageStatus::Complete => GenerationOutcome::Ok,
            MessageStatus::Failed => GenerationOutcome::Failed,
            _ => GenerationOutcome::Cancelled,
        };
        let mut rec = generation(
            &job,
            alice.id,
            model.unwrap_or(""),
            reply.created_at.date(),
            outcome,
            None,
            (10 * (i as i64 + 1), i as i64),
        );
        rec.character_id = Some(seraphina);
        stats::record_generation(c, &rec)?;
    }

    let today = Utc::now().date_naive();
    let from = today - Duration::days(3);
    let month = stats::month_start(today);
    let snapshot = |c: &mut DbConn| -> Result<_, DbError> {
        Ok((
            stats::overview(c, from, today, 10)?,
            stats::list_users(
                c,
                &UserFilter::default(),
                UserSort::Username,
                false,
                month,
                10,
                0,
            )?,
            stats::user_totals(c, &[alice.id, bob.id])?,
        ))
    };
    let recorded = snapshot(c)?;
    assert_eq!(recorded.0.models.len(), 3);
    assert_eq!(
        recorded.0.models[2].model, "unknown",
        "a failure before any model"
    );
    let report = stats::rebuild_from_messages(c)?;
    assert_eq!(report.ledger_rows, 0, "everything was recorded already");
    assert!(report.activity_rows > 0 && report.generation_rows == 3);
    let rebuilt = snapshot(c)?;
    assert_eq!(rebuilt, recorded);
    assert!(
        !stats::record_user_message(c, alice.id, None, today, q1.id)?,
        "still counted once after a rebuild"
    );
});

#[test]
fn latency_buckets_and_quantiles() {
    for ms in [0, 1, 15, 16, 17, 100, 999, 1000, 1024, 65_000, 3_600_000] {
        let (low, high) = stats::bucket_bounds(stats::latency_bucket(ms));
        assert!(
            low <= ms as f64 && (ms as f64) < high,
            "{ms} in [{low}, {high})"
        );
        assert!(
            high - low <= (low * 0.125).max(1.0),
            "{ms}: bucket too wide"
        );
    }
    assert!(stats::latency_bucket(1000) < stats::latency_bucket(1200));
    assert_eq!(stats::latency_quantile(&[], 0.5), None);

    // 100 samples: 1..=100 ms.
    let mut histogram = std::collections::BTreeMap::new();
    for ms in 1..=100 {
        *histogram.entry(stats::latency_bucket(ms)).or_insert(0) += 1;
    }
    let histogram: Vec<(i32, i64)> = histogram.into_iter().collect();
    let p50 = stats::latency_quantile(&histogram, 0.5).unwrap();
    let p99 = stats::latency_quantile(&histogram, 0.99).unwrap();
    assert!((45.0..=56.0).contains(&p50), "p50 {p50}");
    assert!((92.0..=104.0).contains(&p99), "p99 {p99}");
}

both_backends!(active_users_across_month_boundaries, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let carol = user(c, "carol")?;
    let d = |m: u32, d: u32| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    stats::record_user_message(c, alice.id, None, d(1, 31), MessageId(1))?;
    stats::record_user_message(c, bob.id, None, d(2, 1), MessageId(2))?;
    stats::record_user_message(c, bob.id, None, d(2, 28), MessageId(3))?;
    stats::record_generation(
        c,
        &GenerationRecord::new("j", carol.id, "mock", d(3, 15), GenerationOutcome::Failed),
    )?;
    assert_eq!(stats::active_users(c, d(2, 1), d(2, 1), d(2, 28))?, (1, 1));
    assert_eq!(stats::active_users(c, d(1, 31), d(1, 1), d(2, 1))?, (2, 2));
    assert_eq!(stats::active_users(c, d(2, 2), d(2, 2), d(2, 27))?, (0, 0));
    assert_eq!(stats::active_users(c, d(3, 1), d(1, 30), d(3, 31))?, (1, 3));
    assert_eq!(stats::active_users(c, d(1, 1), d(1, 1), d(12, 31))?, (3, 3));
    // The same after a rebuild from messages (none here: the counters empty out).
    stats::rebuild_from_messages(c)?;
    assert_eq!(stats::active_users(c, d(1, 1), d(1, 1), d(12, 31))?, (0, 0));
});
