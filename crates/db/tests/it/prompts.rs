use db::prompts::{self, NewPromptRow, PromptChanges};
use db::DbError;
use domain::PromptId;

fn prompt(name: &str, enabled: bool) -> NewPromptRow {
    NewPromptRow {
        name: name.into(),
        content: format!("{name} content"),
        is_enabled: enabled,
    }
}

fn names(rows: Vec<prompts::PromptRow>) -> Vec<String> {
    rows.into_iter().map(|p| p.name).collect()
}

both_backends!(insert_appends_and_lists_in_order, |c| {
    let a = prompts::insert(c, prompt("a", true))?;
    let b = prompts::insert(c, prompt("b", false))?;
    let d = prompts::insert(c, prompt("d", true))?;
    assert_eq!((a.position, b.position, d.position), (0, 1, 2));
    assert_eq!(names(prompts::list(c)?), ["a", "b", "d"]);
    assert_eq!(names(prompts::list_enabled(c)?), ["a", "d"]);
    assert_eq!(prompts::find(c, b.id)?, b);

    let b2 = prompts::update(
        c,
        b.id,
        &PromptChanges {
            is_enabled: Some(true),
            content: Some("new".into()),
            ..Default::default()
        },
    )?;
    assert!(b2.is_enabled);
    assert_eq!(b2.content, "new");
    assert_eq!(b2.name, "b");
    assert_eq!(names(prompts::list_enabled(c)?), ["a", "b", "d"]);

    prompts::delete(c, a.id)?;
    assert!(matches!(prompts::delete(c, a.id), Err(DbError::NotFound)));
    assert!(matches!(
        prompts::update(c, a.id, &PromptChanges::default()),
        Err(DbError::NotFound)
    ));
    let e = prompts::insert(c, prompt("e", true))?;
    assert_eq!(
        e.position, 3,
        "appends after the last position even after a delete"
    );
    assert_eq!(names(prompts::list(c)?), ["b", "d", "e"]);
});

both_backends!(reorder_moves_listed_first_and_rejects_unknown, |c| {
    let a = prompts::insert(c, prompt("a", true))?;
    let b = prompts::insert(c, prompt("b", true))?;
    let d = prompts::insert(c, prompt("d", true))?;
    prompts::reorder(c, &[d.id, a.id, b.id])?;
    assert_eq!(names(prompts::list(c)?), ["d", "a", "b"]);
    // A partial list puts those first and keeps the rest in their order.
    prompts::reorder(c, &[b.id])?;
    assert_eq!(names(prompts::list(c)?), ["b", "d", "a"]);
    let positions: Vec<i32> = prompts::list(c)?.into_iter().map(|p| p.position).collect();
    assert_eq!(positions, [0, 1, 2]);
    // An unknown id changes nothing.
    let err = prompts::reorder(c, &[a.id, PromptId(a.id.0 + 100)]);
    assert!(matches!(err, Err(DbError::NotFound)));
    assert_eq!(names(prompts::list(c)?), ["b", "d", "a"]);
});
