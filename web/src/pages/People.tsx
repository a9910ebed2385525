// Friends, friend requests (live over the user's channel, with polling as a fallback), blocks,
// and direct messages.
import { useEffect, useState } from "react";
import { useTranslation } from "../i18n";
import { useApp, useLoad } from "../appContext";
import { ApiError } from "../lib/api";
import * as E from "../lib/endpoints.later";
import { blocks as blocksRead, friendRequests, friends as friendsRead, type Clients } from "../lib/endpoints.later";
import { navigate } from "../lib/router";
import type { User } from "../lib/types";
import { Avatar, Empty, ErrorBox, Field, Spinner, Tabs, timeAgo } from "../ui";

type Tab = "friends" | "requests" | "add" | "blocked";

export async function openDirect(c: Clients, userId: number) {
  const conv = await E.createConversation(c, { kind: "direct", user_id: userId });
  navigate(`/chats/${conv.id}`);
}

export function PeoplePage() {
  const app = useApp();
  const { client, toast } = app;
  const [tab, setTab] = useState<Tab>("friends");
  const [error, setError] = useState<unknown>(null);
  const friends = useLoad(...friendsRead(client));
  const requests = useLoad(...friendRequests(client));
  const blocks = useLoad(...blocksRead(client));

  useEffect(() => {
    // The socket delivers requests as they happen; this catches up when it was down.
    const t = setInterval(() => {
      requests.reload();
      friends.reload();
    }, 30_000);
    return () => clearInterval(t);
  }, [requests, friends]);

  async function act(f: () => Promise<unknown>, done?: string) {
    setError(null);
    try {
      await f();
      if (done) toast(done);
      friends.reload();
      requests.reload();
      blocks.reload();
    } catch (e) {
      setError(e);
    }
  }

  const incoming = requests.data?.incoming ?? [];
  const { t } = useTranslation();

  return (
    <div className="page narrow">
      <div className="page-head">
        <h1>{t("nav.people")}</h1>
      </div>
      <Tabs
        label={t("nav.people")}
        value={tab}
        onChange={setTab}
        tabs={[
          ["friends", `${t("people.friends")}${friends.data ? ` (${friends.data.length})` : ""}`],
          ["requests", <>{t("people.requests")}{incoming.length > 0 && <span className="badge">{incoming.length}</span>}</>],
          ["add", t("people.add")],
          ["blocked", t("people.blocked")],
        ]}
      />
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {tab === "friends" && (
        <section className="card">
          {friends.loading && !friends.data && <Spinner />}
          <ErrorBox error={friends.error} />
          {friends.data && !friends.data.length && (
            <Empty title={t("people.noFriends")}>
              <p>{t("people.noFriendsText")}</p>
            </Empty>
          )}
          <ul className="plain-list">
            {friends.data?.map((f) => (
              <li key={f.friendship_id} className="row wrap">
                <Avatar name={f.user.display_name || f.user.username} url={f.user.avatar_url} />
                <div className="grow">
                  <strong>{f.user.display_name || f.user.username}</strong>
                  <div className="muted small">
                    @{f.user.username} · {t("people.friendsSince", { when: timeAgo(f.since) })}
                  </div>
                </div>
                <button type="button" className="primary small" onClick={() => act(() => openDirect(app, f.user.id))}>
                  {t("people.message")}
                </button>
                <button type="button" className="ghost small" onClick={() => confirm(t("people.confirmUnfriend", { name: f.user.username })) && act(() => E.unfriend(app, f.user.id), t("people.removed"))}>
                  {t("people.unfriend")}
                </button>
                <button type="button" className="ghost small danger-text" onClick={() => confirm(t("people.confirmBlock", { name: f.user.username })) && act(() => E.block(app, f.user.id), t("people.blockedToast"))}>
                  {t("people.block")}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {tab === "requests" && (
        <section className="card stack">
          <h2>{t("people.incoming")}</h2>
          {!incoming.length && <p className="muted">{t("people.noRequests")}</p>}
          <ul className="plain-list">
            {incoming.map((r) => (
              <li key={r.id} className="row wrap">
                <Avatar name={r.from.username} url={r.from.avatar_url} />
                <div className="grow">
                  <strong>{r.from.display_name || r.from.username}</strong>
                  <div className="muted small">
                    @{r.from.username} · {timeAgo(r.created_at)}
                  </div>
                </div>
                <button type="button" className="primary small" onClick={() => act(() => E.acceptFriendRequest(app, r.id), t("people.nowFriends", { name: r.from.username }))}>
                  {t("people.accept")}
                </button>
                <button type="button" className="ghost small" onClick={() => act(() => E.rejectFriendRequest(app, r.id))}>
                  {t("people.decline")}
                </button>
              </li>
            ))}
          </ul>
          <h2>{t("people.sent")}</h2>
          {!requests.data?.outgoing.length && <p className="muted">{t("people.nonePending")}</p>}
          <ul className="plain-list">
            {requests.data?.outgoing.map((r) => (
              <li key={r.id} className="row">
                <Avatar name={r.to.username} url={r.to.avatar_url} />
                <div className="grow">
                  <strong>{r.to.display_name || r.to.username}</strong>
                  <div className="muted small">{t("people.waitingSince", { when: timeAgo(r.created_at) })}</div>
                </div>
                <button type="button" className="ghost small" onClick={() => act(() => E.cancelFriendRequest(app, r.id))}>
                  {t("common.cancel")}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {tab === "add" && <AddFriend onDone={() => act(async () => undefined)} />}
      {tab === "blocked" && (
        <section className="card">
          {blocks.data && !blocks.data.length && <p className="muted">{t("people.noBlocks")}</p>}
          <ul className="plain-list">
            {blocks.data?.map((b) => (
              <li key={b.user.id} className="row">
                <Avatar name={b.user.username} url={b.user.avatar_url} />
                <div className="grow">
                  <strong>{b.user.username}</strong>
                  <div className="muted small">{t("people.blockedWhen", { when: timeAgo(b.created_at) })}</div>
                </div>
                <button type="button" className="small" onClick={() => act(() => E.unblock(app, b.user.id), t("people.unblocked"))}>
                  {t("people.unblock")}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}

function AddFriend({ onDone }: { onDone(): void }) {
  const app = useApp();
  const { api, user, toast } = app;
  const { t } = useTranslation();
  const [id, setId] = useState("");
  const [found, setFound] = useState<User | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    setFound(null);
    const n = Number(id);
    if (!n) return;
    const timer = setTimeout(() => {
      api
        .get<User>(`/users/${n}`)
        .then((u) => {
          setFound(u);
          setError(null);
        })
        .catch((e) => setError(e instanceof ApiError && e.status === 404 ? new ApiError(404, "not_found", t("people.noSuchUser")) : e));
    }, 300);
    return () => clearTimeout(timer);
  }, [api, id, t]);

  return (
    <section className="card stack">
      <p className="muted">
        {t("people.yourId")} <strong>{user.id}</strong> — {t("people.shareId")}
      </p>
      <Field label={t("people.userId")} inputMode="numeric" value={id} onChange={(e) => setId(e.target.value.replace(/\D/g, ""))} />
      <ErrorBox error={error} />
      {found && (
        <div className="row wrap">
          <Avatar name={found.display_name || found.username} url={found.avatar_url} />
          <div className="grow">
            <strong>{found.display_name || found.username}</strong>
            <div className="muted small">@{found.username}</div>
          </div>
          <button
            type="button"
            className="primary small"
            onClick={async () => {
              try {
                await E.sendFriendRequest(app, found.id);
                toast(t("people.requestSent", { name: found.username }));
                setId("");
                onDone();
              } catch (e) {
                setError(e);
              }
            }}
          >
            {t("people.sendRequest")}
          </button>
          <button type="button" className="small" onClick={() => openDirect(app, found.id).catch(setError)}>
            {t("people.message")}
          </button>
          <button
            type="button"
            className="ghost small danger-text"
            onClick={async () => {
              try {
                await E.block(app, found.id);
                toast(t("people.blockedName", { name: found.username }));
                onDone();
              } catch (e) {
                setError(e);
              }
            }}
          >
            {t("people.block")}
          </button>
        </div>
      )}
    </section>
  );
}
