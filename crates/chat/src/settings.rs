//! A person's own preferences (issue 19): only they read and change them.

use db::user_settings::UserSettings;

use crate::error::ChatError;
use crate::{Actor, ChatContext};

pub async fn get(ctx: &ChatContext, actor: &Actor) -> Result<UserSettings, ChatError> {
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| db::user_settings::get(c, me)).await?)
}

/// Changes what is given; returns the settings afterwards.
pub async fn update(
    ctx: &ChatContext,
    actor: &Actor,
    read_receipts: Option<bool>,
) -> Result<UserSettings, ChatError> {
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| {
        if let Some(on) = read_receipts {
            db::user_settings::set_read_receipts(c, me, on)?;
        }
        db::user_settings::get(c, me)
    })
    .await?)
}
