// Discord-like servers: a column of servers, the selected server's channels and members, and
// the open channel.
import { useEffect, useState } from "react";
import { useApp, useLoad } from "../appContext";
import { ChatView } from "../components/chat/ChatView";
import { ChannelSettings } from "../components/servers/ChannelSettings";
import { ServerSettings } from "../components/servers/ServerSettings";
import { navigate } from "../lib/router";
import * as E from "../lib/endpoints.later";
import type { Conversation, Server } from "../lib/types";
import { useTranslation } from "../i18n";
import { Avatar, Empty, ErrorBox, Field, Icon, Link, Modal, Select, Spinner } from "../ui";

export function ServersPage({ serverId, channelId }: { serverId: number | null; channelId: number | null }) {
  const app = useApp();
  const { t } = useTranslation();
  const servers = useLoad(...E.serverList(app));
  const [dialog, setDialog] = useState<null | "create" | "join" | "browse" | "channel" | "settings" | "channelSettings">(null);
  const server = useLoad(...E.server(app, serverId));
  const members = useLoad(...E.serverMembers(app, serverId));
  const [online, setOnline] = useState<Set<number>>(new Set());
  const [error, setError] = useState<unknown>(null);
  const s = server.data;
  const channels = s?.channels ?? [];
  const channel = channels.find((c) => c.id === channelId) ?? null;
  const manager = s?.role === "owner" || s?.role === "admin";

  // Open the first channel of a server.
  useEffect(() => {
    if (s && s.id === serverId && !channelId && channels.length && s.role) navigate(`/servers/${s.id}/${channels[0].id}`, { replace: true });
  }, [s, serverId, channelId, channels]);

  async function act(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      servers.reload();
      server.reload();
      members.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div className={`servers${serverId ? " has-server" : ""}${channelId ? " has-detail" : ""}`}>
      <nav className="server-column" aria-label={t("nav.servers")}>
        {servers.data?.map((sv) => (
          <Link key={sv.id} to={`/servers/${sv.id}`} className={`server-icon${sv.id === serverId ? " active" : ""}`} title={sv.name} aria-current={sv.id === serverId ? "page" : undefined}>
            <Avatar name={sv.name} url={sv.icon_url} size={44} />
            <span className="sr-only">{sv.name}</span>
          </Link>
        ))}
        <button type="button" className="server-icon add" onClick={() => setDialog("create")} aria-label={t("servers.create")} title={t("servers.create")}>
          <Icon name="plus" />
        </button>
        <button type="button" className="server-icon add" onClick={() => setDialog("join")} aria-label={t("servers.joinByCode")} title={t("servers.joinByCode")}>
          #
        </button>
        <button type="button" className="server-icon add" onClick={() => setDialog("browse")} aria-label={t("servers.browse")} title={t("servers.browse")}>
          <Icon name="server" size={18} />
        </button>
      </nav>
      <aside className="channel-column" aria-label={t("servers.channels")}>
        {!serverId && (
          <div className="pad">
            <h1>{t("nav.servers")}</h1>
            <p className="muted">{t("servers.intro")}</p>
            {servers.data && !servers.data.length && <p className="muted">{t("servers.none")}</p>}
            <ErrorBox error={servers.error} />
          </div>
        )}
        {serverId && server.loading && !s && <Spinner />}
        <ErrorBox error={server.error ?? error} onDismiss={() => setError(null)} />
        {s && (
          <>
            <div className="pane-head">
              <h2 className="ellipsis">{s.name}</h2>
              {manager && (
                <button type="button" className="ghost small" onClick={() => setDialog("settings")} aria-label={t("servers.settings")} title={t("servers.settings")}>
                  <Icon name="gear" size={16} />
                </button>
              )}
              <button type="button" className="ghost back" onClick={() => navigate("/servers")} aria-label={t("servers.back")}>
                <Icon name="back" />
              </button>
            </div>
            {s.description && <p className="muted small pad-x">{s.description}</p>}
            {!s.role && (
              <div className="pad">
                <button type="button" className="primary" onClick={() => act(() => E.joinServer(app, s.id))}>
                  {t("servers.joinServer")}
                </button>
              </div>
            )}
            <div className="section-title">
              {t("servers.textChannels")}
              {manager && (
                <button type="button" className="ghost small" onClick={() => setDialog("channel")} aria-label={t("servers.createChannel")}>
                  <Icon name="plus" size={14} />
                </button>
              )}
            </div>
            <ul className="channel-list">
              {channels.map((c) => (
                <li key={c.id}>
                  <Link to={`/servers/${s.id}/${c.id}`} className={`channel${c.id === channelId ? " active" : ""}`} aria-current={c.id === channelId ? "page" : undefined}>
                    # {c.title}
                  </Link>
                </li>
              ))}
            </ul>
            <div className="section-title">{t("servers.members", { count: members.data?.length ?? 0 })}</div>
            <ul className="plain-list members pad-x">
              {members.data?.map((m) => (
                <li key={m.user_id} className="row">
                  <Avatar name={m.username} size={26} online={online.has(m.user_id)} />
                  <span className="grow ellipsis">{m.username}</span>
                  <span className={`role role-${m.role}`}>{t(`members.role_${m.role}`)}</span>
                </li>
              ))}
            </ul>
            {s.role && (
              <div className="pad stack server-info">
                {s.invite_code && (
                  <div className="small">
                    {t("servers.inviteCode")}: <code>{s.invite_code}</code>
                  </div>
                )}
                {s.role === "owner" ? (
                  <button type="button" className="danger small" onClick={() => confirm(t("servers.confirmDelete", { name: s.name })) && act(async () => { await E.deleteServer(app, s.id); navigate("/servers"); })}>
                    {t("servers.delete")}
                  </button>
                ) : (
                  <button type="button" className="ghost small" onClick={() => act(async () => { await E.leaveServer(app, s.id); navigate("/servers"); })}>
                    {t("servers.leave")}
                  </button>
                )}
              </div>
            )}
          </>
        )}
      </aside>
      <div className="detail-pane">
        {channel && s?.role ? (
          <ChatView
            key={channel.id}
            conversation={channel}
            onPresence={setOnline}
            onMembersChanged={() => members.reload()}
            actions={
              manager ? (
                <button type="button" onClick={() => setDialog("channelSettings")} aria-label={t("servers.channelSettings")} title={t("servers.channelSettings")}>
                  <Icon name="gear" size={16} />
                </button>
              ) : null
            }
            leading={
              <button type="button" className="ghost back" onClick={() => navigate(`/servers/${s.id}`)} aria-label={t("servers.backToChannels")}>
                <Icon name="back" />
              </button>
            }
          />
        ) : (
          <Empty title={serverId ? t("servers.pickChannel") : t("servers.noneSelected")} />
        )}
      </div>
      {dialog === "create" && <CreateServer onClose={() => setDialog(null)} onDone={(sv) => { setDialog(null); servers.reload(); navigate(`/servers/${sv.id}`); }} />}
      {dialog === "join" && <JoinServer onClose={() => setDialog(null)} onDone={(sv) => { setDialog(null); servers.reload(); navigate(`/servers/${sv.id}`); }} />}
      {dialog === "browse" && <BrowseServers onClose={() => setDialog(null)} onDone={(id) => { setDialog(null); servers.reload(); navigate(`/servers/${id}`); }} />}
      {dialog === "settings" && s && <ServerSettings server={s} onClose={() => setDialog(null)} onSaved={() => { setDialog(null); servers.reload(); server.reload(); }} />}
      {dialog === "channelSettings" && s && channel && (
        <ChannelSettings
          serverId={s.id}
          channel={channel}
          onClose={() => setDialog(null)}
          onSaved={() => { setDialog(null); server.reload(); }}
          onDeleted={() => { setDialog(null); server.reload(); navigate(`/servers/${s.id}`); }}
        />
      )}
      {dialog === "channel" && s && <CreateChannel serverId={s.id} onClose={() => setDialog(null)} onDone={(c) => { setDialog(null); server.reload(); navigate(`/servers/${s.id}/${c.id}`); }} />}
    </div>
  );
}

function CreateServer({ onClose, onDone }: { onClose(): void; onDone(s: Server): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [visibility, setVisibility] = useState("private");
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal title={t("servers.create")} onClose={onClose}>
      <form className="stack" onSubmit={async (e) => { e.preventDefault(); try { onDone(await E.createServer(app, { name, description, visibility })); } catch (err) { setError(err); } }}>
        <Field label={t("servers.name")} value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        <Field label={t("servers.description")} multiline rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
        <Select label={t("servers.visibility")} value={visibility} onChange={setVisibility} options={[["private", t("servers.private")], ["public", t("servers.public")]]} />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>{t("common.cancel")}</button>
          <button type="submit" className="primary">{t("common.create")}</button>
        </div>
      </form>
    </Modal>
  );
}

function JoinServer({ onClose, onDone }: { onClose(): void; onDone(s: Server): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal title={t("servers.joinByCode")} onClose={onClose}>
      <form className="stack" onSubmit={async (e) => { e.preventDefault(); try { onDone(await E.joinServerByCode(app, code.trim())); } catch (err) { setError(err); } }}>
        <Field label={t("servers.inviteCode")} value={code} onChange={(e) => setCode(e.target.value)} required />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>{t("common.cancel")}</button>
          <button type="submit" className="primary">{t("servers.join")}</button>
        </div>
      </form>
    </Modal>
  );
}

function BrowseServers({ onClose, onDone }: { onClose(): void; onDone(id: number): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const list = useLoad(...E.publicServers(app));
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal title={t("servers.publicTitle")} onClose={onClose} wide>
      <ErrorBox error={list.error ?? error} />
      {list.loading && <Spinner />}
      {list.data && !list.data.items.length && <p className="muted">{t("servers.noPublic")}</p>}
      <ul className="plain-list">
        {list.data?.items.map((s) => (
          <li key={s.id} className="row">
            <Avatar name={s.name} url={s.icon_url} />
            <div className="grow">
              <strong>{s.name}</strong>
              <div className="muted small">{s.description}</div>
            </div>
            <button type="button" className="primary small" onClick={async () => { try { await E.joinServer(app, s.id); onDone(s.id); } catch (e) { setError(e); } }}>
              {t("servers.join")}
            </button>
          </li>
        ))}
      </ul>
    </Modal>
  );
}

function CreateChannel({ serverId, onClose, onDone }: { serverId: number; onClose(): void; onDone(c: Conversation): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal title={t("servers.createChannelTitle")} onClose={onClose}>
      <form className="stack" onSubmit={async (e) => { e.preventDefault(); try { onDone(await E.createChannel(app, serverId, { name, description })); } catch (err) { setError(err); } }}>
        <Field label={t("servers.channelName")} value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} hint={t("servers.channelHint")} />
        <Field label={t("servers.topic")} value={description} onChange={(e) => setDescription(e.target.value)} />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>{t("common.cancel")}</button>
          <button type="submit" className="primary">{t("common.create")}</button>
        </div>
      </form>
    </Modal>
  );
}
