//! Personas, lorebooks, chat settings and context reports (issue 16), on both backends.

use db::characters::{self, NewCharacterRow};
use db::chat_settings::{self, ChatSettings};
use db::{contexts, lorebooks, personas, DbError};
use domain::{ConversationKind, LorebookId};

use crate::support::{conversation, delete_user, say, user};

both_backends!(personas_keep_one_default_per_user, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let first = personas::insert(c, alice.id, "Ari", "a bard", None)?;
    let second = personas::insert(
        c,
        alice.id,
        "민지",
        "서울의 학생",
        Some("https://x.test/a.png"),
    )?;
    let bobs = personas::insert(c, bob.id, "Bo", "", None)?;
    assert!(first.is_default, "the first persona is the default");
    assert!(!second.is_default);
    assert!(bobs.is_default, "defaults are per user");
    personas::set_default(c, alice.id, second.id)?;
    assert_eq!(
        personas::default_for(c, alice.id)?.map(|p| p.id),
        Some(second.id)
    );
    assert!(!personas::find(c, first.id)?.is_default);
    // Another user's persona cannot be made anyone's default, nor read as theirs.
    assert!(matches!(
        personas::set_default(c, alice.id, bobs.id),
        Err(DbError::NotFound)
    ));
    assert_eq!(personas::find_owned(c, bobs.id, alice.id)?, None);
    assert_eq!(
        personas::default_for(c, alice.id)?.map(|p| p.id),
        Some(second.id)
    );
    let changed = personas::update(
        c,
        second.id,
        &personas::PersonaChanges {
            description: Some("부산의 학생".into()),
            ..Default::default()
        },
    )?;
    assert_eq!(
        (changed.name.as_str(), changed.description.as_str()),
        ("민지", "부산의 학생")
    );
    let names: Vec<String> = personas::list(c, alice.id)?
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Ari", "민지"]);

    // Locked to a conversation; deleting the persona unlocks it.
    let conv = conversation(c, ConversationKind::AiChat, alice.id)?;
    chat_settings::lock_persona(c, conv.id, alice.id, Some(first.id))?;
    assert_eq!(
        chat_settings::locked_persona(c, conv.id, alice.id)?,
        Some(first.id)
    );
    chat_settings::lock_persona(c, conv.id, alice.id, Some(second.id))?;
    assert_eq!(
        chat_settings::locked_persona(c, conv.id, alice.id)?,
        Some(second.id)
    );
    personas::delete(c, second.id)?;
    assert_eq!(chat_settings::locked_persona(c, conv.id, alice.id)?, None);
    delete_user(c, alice.id)?;
    assert!(matches!(
        personas::find(c, first.id),
        Err(DbError::NotFound)
    ));
});

both_backends!(lorebooks_bound_attached_and_versioned, |c| {
    let alice = user(c, "alice")?;
    let ch = characters::insert(c, NewCharacterRow::new(alice.id, "Sera"))?;
    let own =
        lorebooks::put_for_character(c, alice.id, ch.id, "Sera's world", r#"{"entries":[]}"#)?;
    assert_eq!(own.character(), Some(ch.id));
    let again = lorebooks::put_for_character(
        c,
        alice.id,
        ch.id,
        "Sera's world",
        r#"{"entries":[{"keys":["a"],"content":"b"}]}"#,
    )?;
    assert_eq!(again.id, own.id, "one book per character");
    assert!(
        again.updated_at > own.updated_at,
        "each version has its own stamp"
    );
    let mine = lorebooks::insert(c, alice.id, None, "Eldoria", r#"{"entries":[]}"#)?;
    let conv = conversation(c, ConversationKind::AiChat, alice.id)?;
    lorebooks::attach(c, conv.id, mine.id, alice.id)?;
    lorebooks::attach(c, conv.id, mine.id, alice.id)?;
    assert_eq!(
        lorebooks::attached(c, conv.id)?.len(),
        1,
        "attaching twice is once"
    );
    let versions = lorebooks::versions_for_prompt(c, conv.id, Some(ch.id))?;
    let ids: Vec<LorebookId> = versions.iter().map(|v| v.id).collect();
    assert_eq!(
        ids,
        [own.id, mine.id],
        "the character's book, then attached ones"
    );
    lorebooks::detach(c, conv.id, mine.id)?;
    assert!(matches!(
        lorebooks::detach(c, conv.id, mine.id),
        Err(DbError::NotFound)
    ));
    lorebooks::attach(c, conv.id, mine.id, alice.id)?;
    lorebooks::delete(c, mine.id)?;
    assert!(
        lorebooks::attached(c, conv.id)?.is_empty(),
        "deleting detaches"
    );
    assert_eq!(lorebooks::list(c, alice.id)?.len(), 1);
});

both_backends!(chat_settings_and_context_reports, |c| {
    let alice = user(c, "alice")?;
    let conv = conversation(c, ConversationKind::AiChat, alice.id)?;
    assert_eq!(chat_settings::find(c, conv.id)?, None);
    let mut s = ChatSettings {
        author_note: "긴장감을 유지해.".into(),
        author_note_depth: 2,
        author_note_interval: 3,
        model: Some("openai/gpt-4o".into()),
        temperature: Some(0.7),
        top_p: Some(0.9),
        max_tokens: Some(300),
    };
    let row = chat_settings::put(c, conv.id, alice.id, &s)?;
    assert_eq!(ChatSettings::from(row), s);
    s.temperature = None;
    chat_settings::put(c, conv.id, alice.id, &s)?;
    assert_eq!(
        ChatSettings::from(chat_settings::find(c, conv.id)?.unwrap()),
        s,
        "replaced, not duplicated"
    );

    let msg = say(c, conv.id, alice.id, "hi")?;
    assert_eq!(contexts::find(c, msg.id)?, None);
    contexts::put(c, msg.id, conv.id, r#"{"v":1}"#)?;
    contexts::put(c, msg.id, conv.id, r#"{"v":1,"again":true}"#)?;
    assert_eq!(
        contexts::find(c, msg.id)?.as_deref(),
        Some(r#"{"v":1,"again":true}"#)
    );
});
