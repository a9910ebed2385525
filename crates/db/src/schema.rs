//! The one hand-kept schema for both backends. Only portable SQL types appear here (`BigInt`,
//! `Integer`, `Text`, `Bool`, `Timestamp`, `Date`); enums and JSON are `Text`. Column order must
//! match the migrations and the row structs, which are read by position.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        is_active -> Bool,
        display_name -> Text,
        bio -> Text,
        avatar_url -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_active_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        family_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    characters (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        description -> Text,
        personality -> Text,
        scenario -> Text,
        greeting -> Text,
        alternate_greetings -> Text,
        example_dialogue -> Text,
        system_prompt -> Text,
        post_history_instructions -> Text,
        tags -> Text,
        avatar_url -> Nullable<Text>,
        visibility -> Text,
        model_preference -> Nullable<Text>,
        creator_notes -> Text,
        extensions -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    common_prompts (id) {
        id -> BigInt,
        name -> Text,
        content -> Text,
        position -> Integer,
        is_enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    servers (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        description -> Text,
        visibility -> Text,
        invite_code -> Text,
        icon_url -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    server_members (server_id, user_id) {
        server_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        kind -> Text,
        title -> Text,
        description -> Text,
        character_id -> Nullable<BigInt>,
        server_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        visibility -> Text,
        member_limit -> Integer,
        direct_key -> Nullable<Text>,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_message_at -> Nullable<Timestamp>,
        origin_conversation_id -> Nullable<BigInt>,
        origin_message_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    conversation_members (conversation_id, user_id) {
        conversation_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        joined_at -> Timestamp,
        left_at -> Nullable<Timestamp>,
        last_read_message_id -> Nullable<BigInt>,
        pinned_at -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    conversation_characters (conversation_id, character_id) {
        conversation_id -> BigInt,
        character_id -> BigInt,
        added_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        author_id -> Nullable<BigInt>,
        character_id -> Nullable<BigInt>,
        role -> Text,
        message_type -> Text,
        content -> Text,
        metadata -> Text,
        reply_to_id -> Nullable<BigInt>,
        status -> Text,
        job_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        prompt_tokens -> Nullable<BigInt>,
        completion_tokens -> Nullable<BigInt>,
        model -> Nullable<Text>,
        created_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        edited_by -> Nullable<BigInt>,
        deleted_at -> Nullable<Timestamp>,
        parent_id -> Nullable<BigInt>,
        on_path -> Bool,
        mention_everyone -> Bool,
        thread_root_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    usage_daily (user_id, day, model) {
        user_id -> BigInt,
        day -> Date,
        model -> Text,
        prompt_tokens -> BigInt,
        completion_tokens -> BigInt,
        messages -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    usage_charges (job_id) {
        job_id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    friendships (id) {
        id -> BigInt,
        requester_id -> BigInt,
        addressee_id -> BigInt,
        pair_key -> Text,
        status -> Text,
        created_at -> Timestamp,
        responded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    blocks (blocker_id, blocked_id) {
        blocker_id -> BigInt,
        blocked_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stories (id) {
        id -> BigInt,
        user_id -> BigInt,
        title -> Text,
        prompt -> Text,
        content -> Text,
        character_ids -> Text,
        status -> Text,
        job_id -> Nullable<Text>,
        model -> Nullable<Text>,
        prompt_tokens -> Nullable<BigInt>,
        completion_tokens -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    job_outbox (id) {
        id -> BigInt,
        job_id -> Text,
        payload -> Text,
        created_at -> Timestamp,
        relayed_at -> Nullable<Timestamp>,
        relays -> Integer,
    }
}

// The context engine (issue 16).

diesel::table! {
    personas (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        description -> Text,
        avatar_url -> Nullable<Text>,
        is_default -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    lorebooks (id) {
        id -> BigInt,
        owner_id -> BigInt,
        character_id -> Nullable<BigInt>,
        name -> Text,
        book -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    conversation_lorebooks (conversation_id, lorebook_id) {
        conversation_id -> BigInt,
        lorebook_id -> BigInt,
        attached_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    message_reactions (message_id, emoji, user_id) {
        message_id -> BigInt,
        emoji -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversation_settings (conversation_id) {
        conversation_id -> BigInt,
        author_note -> Text,
        author_note_depth -> Integer,
        author_note_interval -> Integer,
        model -> Nullable<Text>,
        temperature -> Nullable<Double>,
        top_p -> Nullable<Double>,
        max_tokens -> Nullable<Integer>,
        updated_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    conversation_personas (conversation_id, user_id) {
        conversation_id -> BigInt,
        user_id -> BigInt,
        persona_id -> BigInt,
    }
}

diesel::table! {
    message_contexts (message_id) {
        message_id -> BigInt,
        conversation_id -> BigInt,
        report -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    message_pins (message_id) {
        message_id -> BigInt,
        conversation_id -> BigInt,
        pinned_by -> Nullable<BigInt>,
        pinned_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        actor_id -> Nullable<BigInt>,
        conversation_id -> Nullable<BigInt>,
        message_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_settings (user_id) {
        user_id -> BigInt,
        read_receipts -> Bool,
    }
}

diesel::table! {
    conversation_mutes (user_id, conversation_id) {
        user_id -> BigInt,
        conversation_id -> BigInt,
        muted_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    thread_reads (root_id, user_id) {
        root_id -> BigInt,
        user_id -> BigInt,
        last_read_message_id -> BigInt,
    }
}

diesel::table! {
    message_mentions (message_id, user_id) {
        message_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(conversation_lorebooks -> lorebooks (lorebook_id));
diesel::joinable!(conversation_personas -> personas (persona_id));
diesel::joinable!(characters -> users (owner_id));
diesel::joinable!(servers -> users (owner_id));
diesel::joinable!(server_members -> servers (server_id));
diesel::joinable!(server_members -> users (user_id));
diesel::joinable!(conversations -> servers (server_id));
diesel::joinable!(conversations -> characters (character_id));
diesel::joinable!(conversation_members -> conversations (conversation_id));
diesel::joinable!(conversation_members -> users (user_id));
diesel::joinable!(conversation_characters -> conversations (conversation_id));
diesel::joinable!(conversation_characters -> characters (character_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(messages -> users (author_id));
diesel::joinable!(usage_daily -> users (user_id));
diesel::joinable!(stories -> users (user_id));
diesel::joinable!(message_reactions -> messages (message_id));
diesel::joinable!(message_pins -> messages (message_id));
diesel::joinable!(message_mentions -> messages (message_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    characters,
    common_prompts,
    servers,
    server_members,
    conversations,
    conversation_members,
    conversation_characters,
    messages,
    usage_daily,
    usage_charges,
    friendships,
    blocks,
    stories,
    personas,
    lorebooks,
    conversation_lorebooks,
    conversation_settings,
    conversation_personas,
    message_contexts,
    message_reactions,
    message_pins,
    message_mentions,
    thread_reads,
    notifications,
    user_settings,
    conversation_mutes,
);

// The admin statistics roll-ups (db::stats); only that module touches them.

diesel::table! {
    stats_ledger (event_key) {
        event_key -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    daily_stats (day, model, provider, shard) {
        day -> Date,
        model -> Text,
        provider -> Text,
        shard -> Integer,
        generations_ok -> BigInt,
        generations_failed -> BigInt,
        generations_cancelled -> BigInt,
        prompt_tokens -> BigInt,
        completion_tokens -> BigInt,
    }
}

diesel::table! {
    latency_daily (day, model, provider, bucket) {
        day -> Date,
        model -> Text,
        provider -> Text,
        bucket -> Integer,
        samples -> BigInt,
        sum_ms -> BigInt,
    }
}

diesel::table! {
    day_stats (day, shard) {
        day -> Date,
        shard -> Integer,
        user_messages -> BigInt,
        active_users -> BigInt,
    }
}

diesel::table! {
    character_daily (day, character_id) {
        day -> Date,
        character_id -> BigInt,
        messages -> BigInt,
    }
}

diesel::table! {
    user_activity_daily (day, user_id) {
        day -> Date,
        user_id -> BigInt,
        messages -> BigInt,
        replies -> BigInt,
    }
}

diesel::table! {
    user_monthly (month_start, user_id) {
        month_start -> Date,
        user_id -> BigInt,
        messages -> BigInt,
        replies -> BigInt,
        prompt_tokens -> BigInt,
        completion_tokens -> BigInt,
        active_days -> BigInt,
    }
}
