use chrono::NaiveDate;
use db::usage;

use crate::support::{delete_user, user};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

both_backends!(charge_is_once_per_job, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    assert!(usage::charge(
        c,
        "job-1",
        alice.id,
        day(1),
        "openai/gpt-4o",
        100,
        20
    )?);
    assert!(
        !usage::charge(c, "job-1", alice.id, day(1), "openai/gpt-4o", 100, 20)?,
        "a retried job is not charged again"
    );
    assert!(usage::charge(
        c,
        "job-2",
        alice.id,
        day(1),
        "openai/gpt-4o",
        5,
        1
    )?);
    assert!(usage::charge(
        c,
        "job-3",
        alice.id,
        day(1),
        "mock/echo",
        7,
        7
    )?);
    assert!(usage::charge(
        c,
        "job-4",
        alice.id,
        day(3),
        "openai/gpt-4o",
        1,
        1
    )?);
    assert!(usage::charge(
        c,
        "job-5",
        bob.id,
        day(1),
        "openai/gpt-4o",
        9,
        9
    )?);

    let rows = usage::for_user(c, alice.id, day(1), day(2))?;
    let summary: Vec<(NaiveDate, &str, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.day,
                r.model.as_str(),
                r.prompt_tokens,
                r.completion_tokens,
                r.messages,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (day(1), "mock/echo", 7, 7, 1),
            (day(1), "openai/gpt-4o", 105, 21, 2),
        ]
    );
    assert_eq!(
        usage::for_user(c, alice.id, day(1), day(3))?.len(),
        3,
        "the range is inclusive"
    );
    assert!(usage::for_user(c, alice.id, day(4), day(9))?.is_empty());
    assert_eq!(usage::for_range(c, day(1), day(1))?.len(), 3);

    delete_user(c, bob.id)?;
    assert_eq!(usage::for_range(c, day(1), day(1))?.len(), 2);
});
