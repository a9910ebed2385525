// Friends, friend requests (live over the user's channel, with polling as a fallback), blocks,
// and direct messages.
import { useEffect, useState } from "react";
import { useApp, useLoad } from "../appContext";
import { ApiError } from "../lib/api";
import { blocks as blocksRead, friendRequests, friends as friendsRead } from "../lib/endpoints";
import { navigate } from "../lib/router";
import type { Conversation, User } from "../lib/types";
import { Avatar, Empty, ErrorBox, Field, Spinner, Tabs, timeAgo } from "../ui";

type Tab = "friends" | "requests" | "add" | "blocked";

export async function openDirect(api: import("../lib/api").Api, userId: number) {
  const conv = await api.post<Conversation>("/conversations", { kind: "direct", user_id: userId });
  navigate(`/chats/${conv.id}`);
}

export function PeoplePage() {
  const { api, client, toast } = useApp();
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

  return (
    <div className="page narrow">
      <div className="page-head">
        <h1>People</h1>
      </div>
      <Tabs
        label="People"
        value={tab}
        onChange={setTab}
        tabs={[
          ["friends", `Friends${friends.data ? ` (${friends.data.length})` : ""}`],
          ["requests", <>Requests{incoming.length > 0 && <span className="badge">{incoming.length}</span>}</>],
          ["add", "Add friend"],
          ["blocked", "Blocked"],
        ]}
      />
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {tab === "friends" && (
        <section className="card">
          {friends.loading && !friends.data && <Spinner />}
          <ErrorBox error={friends.error} />
          {friends.data && !friends.data.length && (
            <Empty title="No friends yet">
              <p>Send a request with someone's user ID, or from a room's member list.</p>
            </Empty>
          )}
          <ul className="plain-list">
            {friends.data?.map((f) => (
              <li key={f.friendship_id} className="row wrap">
                <Avatar name={f.user.display_name || f.user.username} url={f.user.avatar_url} />
                <div className="grow">
                  <strong>{f.user.display_name || f.user.username}</strong>
                  <div className="muted small">
                    @{f.user.username} · friends since {timeAgo(f.since)}
                  </div>
                </div>
                <button type="button" className="primary small" onClick={() => act(() => openDirect(api, f.user.id))}>
                  Message
                </button>
                <button type="button" className="ghost small" onClick={() => confirm(`Remove ${f.user.username} from friends?`) && act(() => api.del(`/friends/${f.user.id}`), "Removed")}>
                  Unfriend
                </button>
                <button type="button" className="ghost small danger-text" onClick={() => confirm(`Block ${f.user.username}?`) && act(() => api.post("/blocks", { user_id: f.user.id }), "Blocked")}>
                  Block
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {tab === "requests" && (
        <section className="card stack">
          <h2>Incoming</h2>
          {!incoming.length && <p className="muted">No requests.</p>}
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
                <button type="button" className="primary small" onClick={() => act(() => api.post(`/friends/requests/${r.id}/accept`), `You and ${r.from.username} are friends`)}>
                  Accept
                </button>
                <button type="button" className="ghost small" onClick={() => act(() => api.post(`/friends/requests/${r.id}/reject`))}>
                  Decline
                </button>
              </li>
            ))}
          </ul>
          <h2>Sent</h2>
          {!requests.data?.outgoing.length && <p className="muted">None pending.</p>}
          <ul className="plain-list">
            {requests.data?.outgoing.map((r) => (
              <li key={r.id} className="row">
                <Avatar name={r.to.username} url={r.to.avatar_url} />
                <div className="grow">
                  <strong>{r.to.display_name || r.to.username}</strong>
                  <div className="muted small">waiting since {timeAgo(r.created_at)}</div>
                </div>
                <button type="button" className="ghost small" onClick={() => act(() => api.del(`/friends/requests/${r.id}`))}>
                  Cancel
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {tab === "add" && <AddFriend onDone={() => act(async () => undefined)} />}
      {tab === "blocked" && (
        <section className="card">
          {blocks.data && !blocks.data.length && <p className="muted">You have not blocked anyone.</p>}
          <ul className="plain-list">
            {blocks.data?.map((b) => (
              <li key={b.user.id} className="row">
                <Avatar name={b.user.username} url={b.user.avatar_url} />
                <div className="grow">
                  <strong>{b.user.username}</strong>
                  <div className="muted small">blocked {timeAgo(b.created_at)}</div>
                </div>
                <button type="button" className="small" onClick={() => act(() => api.del(`/blocks/${b.user.id}`), "Unblocked")}>
                  Unblock
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
  const { api, user, toast } = useApp();
  const [id, setId] = useState("");
  const [found, setFound] = useState<User | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    setFound(null);
    const n = Number(id);
    if (!n) return;
    const t = setTimeout(() => {
      api
        .get<User>(`/users/${n}`)
        .then((u) => {
          setFound(u);
          setError(null);
        })
        .catch((e) => setError(e instanceof ApiError && e.status === 404 ? new ApiError(404, "not_found", "No user has this ID.") : e));
    }, 300);
    return () => clearTimeout(t);
  }, [api, id]);

  return (
    <section className="card stack">
      <p className="muted">
        Your user ID is <strong>{user.id}</strong> — share it so people can add you.
      </p>
      <Field label="User ID" inputMode="numeric" value={id} onChange={(e) => setId(e.target.value.replace(/\D/g, ""))} />
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
                await api.post("/friends/requests", { user_id: found.id });
                toast(`Friend request sent to ${found.username}`);
                setId("");
                onDone();
              } catch (e) {
                setError(e);
              }
            }}
          >
            Send friend request
          </button>
          <button type="button" className="small" onClick={() => openDirect(api, found.id).catch(setError)}>
            Message
          </button>
          <button
            type="button"
            className="ghost small danger-text"
            onClick={async () => {
              try {
                await api.post("/blocks", { user_id: found.id });
                toast(`Blocked ${found.username}`);
                onDone();
              } catch (e) {
                setError(e);
              }
            }}
          >
            Block
          </button>
        </div>
      )}
    </section>
  );
}
