//! The OpenAPI document, generated from the handlers' annotations; served at `/openapi.json` and
//! rendered at `/docs`.

use domain::openapi::{BearerAuth, ProblemResponses};
use utoipa::OpenApi;

use crate::routes::{
    auth, blocks, characters, chat_settings, conversations, friends, lorebooks, messages, mutes,
    notifications, personas, pins, prompts, reactions, servers, settings, social, stories, threads,
    users,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Chat platform API", description = "AI characters, conversations and messages. Errors use RFC 9457 problem details with a machine `code`."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::me,
        users::get_me, users::update_me, users::get_user,
        settings::get_settings, settings::update_settings,
        characters::list_characters, characters::create_character, characters::get_character,
        characters::update_character, characters::delete_character, characters::import_character,
        characters::export_character,
        prompts::list_prompts, prompts::create_prompt, prompts::update_prompt, prompts::delete_prompt,
        prompts::reorder_prompts,
        conversations::create_conversation, conversations::list_conversations, conversations::get_conversation,
        conversations::update_conversation, conversations::delete_conversation, conversations::mark_read,
        conversations::pin_conversation, conversations::unpin_conversation,
        conversations::archive_conversation, conversations::unarchive_conversation,
        messages::list_messages, messages::send_message, messages::edit_message, messages::delete_message,
        messages::regenerate, messages::stop_generation, messages::select_variant,
        messages::rerun_message, messages::continue_message, conversations::branch_conversation,
        stories::create_story, stories::list_stories, stories::get_story, stories::stop_story,
        messages::search_conversation, messages::search_mine,
        reactions::add_reaction, reactions::remove_reaction,
        pins::list_pins, pins::pin_message, pins::unpin_message,
        threads::get_thread, threads::mark_thread_read,
        notifications::list_notifications, notifications::unread_notifications,
        notifications::mark_notifications_read, mutes::mute_conversation, mutes::unmute_conversation,
        social::list_public_groups, social::list_members, social::add_member, social::change_member_role,
        social::remove_member, social::join_group, social::add_character, social::remove_character,
        friends::list_friends, friends::list_requests, friends::send_request, friends::accept_request,
        friends::reject_request, friends::cancel_request, friends::unfriend,
        blocks::list_blocks, blocks::block_user, blocks::unblock_user,
        servers::create_server, servers::list_my_servers, servers::list_public_servers, servers::get_server,
        servers::update_server, servers::delete_server, servers::join_server, servers::join_by_invite,
        servers::leave_server, servers::list_server_members, servers::change_server_role, servers::kick_member,
        servers::list_channels, servers::create_channel, servers::update_channel, servers::delete_channel,
        personas::list_personas, personas::create_persona, personas::get_persona, personas::update_persona,
        personas::delete_persona, personas::make_default_persona,
        lorebooks::list_lorebooks, lorebooks::create_lorebook, lorebooks::test_lorebook, lorebooks::get_lorebook,
        lorebooks::update_lorebook, lorebooks::delete_lorebook, lorebooks::list_attached_lorebooks,
        lorebooks::attach_lorebook, lorebooks::detach_lorebook,
        chat_settings::get_chat_settings, chat_settings::update_chat_settings,
        chat_settings::get_conversation_persona, chat_settings::lock_conversation_persona,
        chat_settings::get_message_context,
    ),
    components(schemas(domain::ErrorBody, domain::FieldError)),
    modifiers(&BearerAuth, &ProblemResponses),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "Profiles"),
        (name = "characters", description = "AI characters and Character Card V2"),
        (name = "prompts", description = "Common prompts (admins manage)"),
        (name = "conversations", description = "Conversations"),
        (name = "messages", description = "Messages and AI replies"),
        (name = "stories", description = "Story generation"),
        (name = "social", description = "Direct messages, group rooms and members"),
        (name = "friends", description = "Friends and friend requests"),
        (name = "blocks", description = "Blocking"),
        (name = "servers", description = "Discord-style servers and channels"),
        (name = "personas", description = "Who you speak as: name, description, avatar"),
        (name = "lorebooks", description = "World info: lorebooks, their entries and the conversations they are attached to"),
        (name = "notifications", description = "The inbox: mentions, thread replies, DMs while away, friend requests"),
    )
)]
pub struct ApiDoc;
