//! Every key and channel name, in one place. Per-conversation and per-user names carry a hash
//! tag (`{conv:42}`) so all names of one conversation land in one Redis Cluster slot, which the
//! multi-key Lua scripts need.

use domain::{ConversationId, UserId};

#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    fn conv(&self, id: ConversationId, suffix: &str) -> String {
        format!("{}{{conv:{}}}:{suffix}", self.prefix, id.0)
    }

    pub(crate) fn log(&self, id: ConversationId) -> String {
        self.conv(id, "log")
    }
    pub(crate) fn seq(&self, id: ConversationId) -> String {
        self.conv(id, "seq")
    }
    pub(crate) fn epoch(&self, id: ConversationId) -> String {
        self.conv(id, "epoch")
    }
    pub(crate) fn conv_channel(&self, id: ConversationId) -> String {
        self.conv(id, "ch")
    }
    /// Marks an event published by [`crate::Bus::publish_once`] (`once` is the caller's key,
    /// e.g. `created:1234`).
    pub(crate) fn published_once(&self, id: ConversationId, once: &str) -> String {
        self.conv(id, &format!("once:{once}"))
    }
    pub(crate) fn user_channel(&self, id: UserId) -> String {
        format!("{}{{user:{}}}:ch", self.prefix, id.0)
    }

    pub(crate) fn jobs(&self) -> String {
        format!("{}llm.jobs", self.prefix)
    }
    /// "This job id was enqueued": shares the job stream's slot (the stream's whole name is the
    /// hash tag) so one script can check it and append to the stream.
    pub(crate) fn job_enqueued(&self, job_id: &str) -> String {
        format!("{{{}}}:enqueued:{job_id}", self.jobs())
    }
    /// Jobs scheduled for later (a sorted set by due time): shares the job stream's slot so
    /// one script moves due jobs onto the stream.
    pub(crate) fn jobs_delayed(&self) -> String {
        format!("{{{}}}:delayed", self.jobs())
    }
    /// Upstream requests made for one job id, across its deliveries.
    pub(crate) fn job_attempts(&self, job_id: &str) -> String {
        format!("{{{}}}:attempts:{job_id}", self.jobs())
    }
    /// A running job's lease, per stream entry: set by its worker's heartbeat with a short TTL,
    /// so a dead worker's job is recognised within seconds and a live one is never taken.
    pub(crate) fn job_lease(&self, entry_id: &str) -> String {
        format!("{{{}}}:lease:{entry_id}", self.jobs())
    }
    pub(crate) fn jobs_dead(&self) -> String {
        format!("{}llm.jobs.dead", self.prefix)
    }
    pub(crate) fn stream(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub(crate) fn cancel_channel(&self) -> String {
        format!("{}cancel", self.prefix)
    }
    pub(crate) fn cancel_flag(&self, job_id: &str) -> String {
        format!("{}cancel:{job_id}", self.prefix)
    }

    pub(crate) fn rate(&self, key: &str) -> String {
        format!("{}rl:{key}", self.prefix)
    }
    pub(crate) fn revoked_jti(&self, jti: &str) -> String {
        format!("{}revoked:jti:{jti}", self.prefix)
    }
    pub(crate) fn revoked_session(&self, session: &str) -> String {
        format!("{}revoked:session:{session}", self.prefix)
    }
    pub(crate) fn revoked_user(&self, id: UserId) -> String {
        format!("{}revoked:user:{}", self.prefix, id.0)
    }
    pub(crate) fn nodes_info(&self) -> String {
        format!("{}{{nodes}}:info", self.prefix)
    }
    pub(crate) fn nodes_expiry(&self) -> String {
        format!("{}{{nodes}}:exp", self.prefix)
    }
    pub(crate) fn presence(&self, id: UserId) -> String {
        format!("{}presence:{{user:{}}}", self.prefix, id.0)
    }

    /// What a pub/sub channel name refers to, or `None` for a channel that is not ours.
    pub(crate) fn parse_channel(&self, channel: &str) -> Option<Channel> {
        let rest = channel.strip_prefix(self.prefix.as_str())?;
        if rest == "cancel" {
            return Some(Channel::Cancel);
        }
        let inner = rest.strip_prefix('{')?.strip_suffix("}:ch")?;
        if let Some(id) = inner.strip_prefix("conv:") {
            return id.parse().ok().map(Channel::Conversation);
        }
        if let Some(id) = inner.strip_prefix("user:") {
            return id.parse().ok().map(Channel::User);
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Conversation(ConversationId),
    User(UserId),
    Cancel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_names_share_one_hash_tag_and_channels_parse_back() {
        let k = Keys::new("p:");
        let id = ConversationId(42);
        assert_eq!(k.log(id), "p:{conv:42}:log");
        assert_eq!(k.seq(id), "p:{conv:42}:seq");
        assert_eq!(k.epoch(id), "p:{conv:42}:epoch");
        assert_eq!(k.conv_channel(id), "p:{conv:42}:ch");
        assert_eq!(
            k.parse_channel(&k.conv_channel(id)),
            Some(Channel::Conversation(id))
        );
        assert_eq!(
            k.parse_channel(&k.user_channel(UserId(7))),
            Some(Channel::User(UserId(7)))
        );
        assert_eq!(k.parse_channel(&k.cancel_channel()), Some(Channel::Cancel));
        assert_eq!(k.parse_channel("other:{conv:42}:ch"), None);
        assert_eq!(k.parse_channel("p:{conv:x}:ch"), None);
    }
}
