// The administrators' dashboard over admin-stats: overview charts, users (search, detail,
// activate/deactivate, role), a user's conversations and usage, the live real-time tier, and the
// common prompts every AI conversation's system prompt starts with (api-service /prompts).
import { useEffect, useState } from "react";
import { useApp, useLoad } from "../appContext";
import { HBars, StackedBars } from "../components/Charts";
import { prompts as promptsRead } from "../lib/endpoints";
import { navigate } from "../lib/router";
import type { AdminConversation, AdminMessagePage, AdminUser, AdminUserDetail, CommonPrompt, Overview, Page, Realtime, UserUsage } from "../lib/types";
import { Avatar, Empty, ErrorBox, Field, Icon, Link, Spinner, Tabs, clock, fieldError, fmt, timeAgo } from "../ui";

type Tab = "overview" | "users" | "live" | "prompts";

const colors = { user: "#6d5dfc", ai: "#1f9d8b", prompt: "#3b82f6", completion: "#e08a1e", failed: "#e4577a" };

function isoDay(d: Date) {
  return d.toISOString().slice(0, 10);
}

export function AdminPage({ userId, tab }: { userId: number | null; tab: string }) {
  const current: Tab = userId ? "users" : tab === "users" || tab === "live" || tab === "prompts" ? tab : "overview";
  return (
    <div className="page">
      <div className="page-head">
        <h1>Admin</h1>
      </div>
      <Tabs
        label="Dashboard sections"
        value={current}
        onChange={(t) => navigate(t === "overview" ? "/admin" : `/admin/${t}`)}
        tabs={[
          ["overview", "Overview"],
          ["users", "Users"],
          ["live", "Live"],
          ["prompts", "Prompts"],
        ]}
      />
      {userId ? (
        <UserDetail id={userId} />
      ) : current === "users" ? (
        <Users />
      ) : current === "live" ? (
        <Live />
      ) : current === "prompts" ? (
        <Prompts />
      ) : (
        <OverviewTab />
      )}
    </div>
  );
}

function Kpi({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <div className="kpi card">
      <div className="muted small">{label}</div>
      <div className="kpi-value">{value}</div>
      {sub && <div className="muted small">{sub}</div>}
    </div>
  );
}

function OverviewTab() {
  const { api } = useApp();
  const [days, setDays] = useState(30);
  const to = new Date();
  const from = new Date(Date.now() - (days - 1) * 86400_000);
  const o = useLoad(["admin", "overview", days], () => api.admin<Overview>("/stats/overview", { from: isoDay(from), to: isoDay(to), top: 8 }));
  const d = o.data;
  return (
    <section className="stack" aria-label="Overview">
      <div className="row">
        <label htmlFor="period">Period</label>
        <select id="period" value={days} onChange={(e) => setDays(Number(e.target.value))}>
          <option value={7}>Last 7 days</option>
          <option value={30}>Last 30 days</option>
          <option value={90}>Last 90 days</option>
        </select>
        <button type="button" className="ghost small" onClick={o.reload} aria-label="Refresh">
          <Icon name="refresh" size={16} />
        </button>
      </div>
      <ErrorBox error={o.error} />
      {o.loading && !d && <Spinner />}
      {d && (
        <>
          <div className="kpis">
            <Kpi label="Users" value={fmt(d.users.total)} sub={`${fmt(d.users.new)} new · ${fmt(d.users.active)} active`} />
            <Kpi label="Messages" value={fmt(d.messages.total)} sub={`${fmt(d.messages.user)} by people · ${fmt(d.messages.ai)} by AI`} />
            <Kpi label="Tokens" value={fmt(d.tokens.total)} sub={`${fmt(d.tokens.prompt)} prompt · ${fmt(d.tokens.completion)} completion`} />
            <Kpi label="Generations" value={fmt(d.generations.total)} sub={`${fmt(d.generations.failed)} failed · ${fmt(d.generations.cancelled)} stopped`} />
            <Kpi label="Latency p50 / p99" value={d.latency_ms.p50 != null ? `${fmt(d.latency_ms.p50)} ms` : "–"} sub={d.latency_ms.p99 != null ? `p99 ${fmt(d.latency_ms.p99)} ms` : undefined} />
          </div>
          <div className="charts">
            <StackedBars
              title="Messages per day"
              labels={d.daily.map((x) => x.day)}
              series={[{ name: "people", color: colors.user }, { name: "AI", color: colors.ai }]}
              values={[d.daily.map((x) => x.user_messages), d.daily.map((x) => x.ai_messages)]}
            />
            <StackedBars
              title="Tokens per day"
              labels={d.daily.map((x) => x.day)}
              series={[{ name: "prompt", color: colors.prompt }, { name: "completion", color: colors.completion }]}
              values={[d.daily.map((x) => x.prompt_tokens), d.daily.map((x) => x.completion_tokens)]}
            />
            <HBars title="Tokens by model" rows={d.by_model.map((m) => ({ label: m.model, value: m.tokens.total, note: `${fmt(m.generations.total)} replies` }))} color={colors.completion} />
            <HBars title="Top characters (messages)" rows={d.top_characters.map((c) => ({ label: c.name ?? `#${c.character_id}`, value: c.messages }))} color={colors.ai} />
          </div>
        </>
      )}
    </section>
  );
}

function Users() {
  const { api } = useApp();
  const [q, setQ] = useState("");
  const [query, setQuery] = useState("");
  const [offset, setOffset] = useState(0);
  const limit = 25;
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(q.trim());
      setOffset(0);
    }, 300);
    return () => clearTimeout(t);
  }, [q]);
  const list = useLoad(["admin", "users", query, offset], () => api.admin<Page<AdminUser>>("/users", { q: query, limit, offset }));
  const total = list.data?.total ?? 0;
  return (
    <section className="stack" aria-label="Users">
      <div className="field inline">
        <label htmlFor="user-search">Search users</label>
        <input id="user-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Username, e-mail or name" />
      </div>
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">Messages (month)</th>
              <th scope="col" className="num">Tokens (month)</th>
              <th scope="col">Last active</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((u) => (
              <tr key={u.id}>
                <td>
                  <Link to={`/admin/users/${u.id}`}>
                    <strong>{u.username}</strong>
                  </Link>
                  <div className="muted small">{u.email}</div>
                </td>
                <td>
                  <span className={`role role-${u.role}`}>{u.role}</span>
                </td>
                <td>{u.is_active ? "active" : <span className="danger-text">deactivated</span>}</td>
                <td className="num">{fmt(u.messages_month)}</td>
                <td className="num">{fmt(u.tokens_month)}</td>
                <td>{u.last_active_at ? timeAgo(u.last_active_at) : "never"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.loading && <Spinner />}
      <div className="row">
        <span className="muted small grow">
          {total ? `${offset + 1}–${Math.min(offset + limit, total)} of ${total}` : list.data ? "No users match." : ""}
        </span>
        <button type="button" className="small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - limit))}>
          Previous
        </button>
        <button type="button" className="small" disabled={offset + limit >= total} onClick={() => setOffset(offset + limit)}>
          Next
        </button>
      </div>
    </section>
  );
}

function UserDetail({ id }: { id: number }) {
  const { api, user: me, toast } = useApp();
  const detail = useLoad(["admin", "user", id], () => api.admin<AdminUserDetail>(`/users/${id}`));
  const usage = useLoad(["admin", "user", id, "usage", "day"], () => api.admin<UserUsage>(`/users/${id}/usage`, { group_by: "day" }));
  const byModel = useLoad(["admin", "user", id, "usage", "model"], () => api.admin<UserUsage>(`/users/${id}/usage`, { group_by: "model" }));
  const convs = useLoad(["admin", "user", id, "conversations"], () => api.admin<Page<AdminConversation>>(`/users/${id}/conversations`, { limit: 50 }));
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const u = detail.data;

  async function patch(body: Record<string, unknown>, done: string) {
    setError(null);
    try {
      await api.adminPatch(`/users/${id}`, body);
      toast(done);
      detail.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section className="stack" aria-label="User">
      <Link to="/admin/users" className="button ghost small">
        <Icon name="back" size={14} /> All users
      </Link>
      <ErrorBox error={detail.error ?? error} onDismiss={() => setError(null)} />
      {!u && detail.loading && <Spinner />}
      {u && (
        <div className="card row wrap">
          <Avatar name={u.display_name || u.username} url={u.avatar_url} size={52} />
          <div className="grow">
            <h2>{u.display_name || u.username}</h2>
            <div className="muted small">
              @{u.username} · {u.email} · joined {new Date(u.created_at).toLocaleDateString()} · last active {u.last_active_at ? timeAgo(u.last_active_at) : "never"}
            </div>
            <div className="small">
              <span className={`role role-${u.role}`}>{u.role}</span> · {u.is_active ? "active" : <span className="danger-text">deactivated</span>} · {fmt(u.conversations)} conversations
            </div>
          </div>
          {u.id !== me.id && (
            <div className="row wrap">
              <button type="button" className={u.is_active ? "danger small" : "primary small"} onClick={() => patch({ is_active: !u.is_active }, u.is_active ? "Deactivated" : "Reactivated")}>
                {u.is_active ? "Deactivate" : "Reactivate"}
              </button>
              <button type="button" className="small" onClick={() => patch({ role: u.role === "admin" ? "user" : "admin" }, "Role changed")}>
                {u.role === "admin" ? "Make user" : "Make admin"}
              </button>
            </div>
          )}
        </div>
      )}
      {u && (
        <div className="kpis">
          <Kpi label="Messages this month" value={fmt(u.this_month.messages)} sub={`${fmt(u.all_time.messages)} all time`} />
          <Kpi label="AI replies this month" value={fmt(u.this_month.replies)} sub={`${fmt(u.all_time.replies)} all time`} />
          <Kpi label="Tokens this month" value={fmt(u.this_month.total_tokens)} sub={`${fmt(u.all_time.total_tokens)} all time`} />
        </div>
      )}
      <ErrorBox error={usage.error} />
      {usage.data && (
        <div className="charts">
          <StackedBars
            title="Tokens per day (30 days)"
            labels={usage.data.items.map((i) => i.day ?? "")}
            series={[{ name: "prompt", color: colors.prompt }, { name: "completion", color: colors.completion }]}
            values={[usage.data.items.map((i) => i.prompt_tokens), usage.data.items.map((i) => i.completion_tokens)]}
          />
          <HBars title="Tokens by model" rows={(byModel.data?.items ?? []).map((i) => ({ label: i.model ?? "?", value: i.total_tokens, note: `${fmt(i.replies)} replies` }))} color={colors.completion} />
        </div>
      )}
      <div className="split-inline">
        <div className="card">
          <h3>Conversations</h3>
          <ErrorBox error={convs.error} />
          {convs.data && !convs.data.items.length && <p className="muted">None.</p>}
          <ul className="plain-list">
            {convs.data?.items.map((c) => (
              <li key={c.id}>
                <button type="button" className={`conv-button${open === c.id ? " active" : ""}`} onClick={() => setOpen(c.id)}>
                  <strong>{c.title || (c.kind === "direct" ? "Direct message" : "Untitled")}</strong> <span className={`kind kind-${c.kind}`}>{c.kind}</span>
                  <div className="muted small ellipsis">{c.last_message?.content ?? "No messages"}</div>
                </button>
              </li>
            ))}
          </ul>
        </div>
        {open && <Transcript userId={id} conversationId={open} />}
      </div>
    </section>
  );
}

function Transcript({ userId, conversationId }: { userId: number; conversationId: number }) {
  const { api } = useApp();
  const page = useLoad(["admin", "user", userId, "conversations", conversationId], () => api.admin<AdminMessagePage>(`/users/${userId}/conversations/${conversationId}/messages`, { limit: 100 }));
  return (
    <div className="card transcript" aria-label="Messages">
      <h3>Messages</h3>
      <ErrorBox error={page.error} />
      {page.loading && <Spinner />}
      <ol className="plain-list">
        {page.data?.items.map((m) => (
          <li key={m.id} className={`t-${m.role}`}>
            <span className="muted small">
              {clock(m.created_at)} · {m.role === "assistant" ? `AI${m.model ? ` (${m.model})` : ""}` : m.author_username}
              {m.completion_tokens != null && ` · ${fmt((m.prompt_tokens ?? 0) + m.completion_tokens)} tokens`}
            </span>
            <div className={m.deleted_at ? "muted" : ""}>{m.deleted_at ? "(deleted) " : ""}{m.content}</div>
          </li>
        ))}
      </ol>
    </div>
  );
}

function Live() {
  const { api } = useApp();
  const rt = useLoad(["admin", "realtime"], () => api.admin<Realtime>("/realtime"));
  useEffect(() => {
    const t = setInterval(() => rt.reload(), 5000);
    return () => clearInterval(t);
  }, [rt]);
  const d = rt.data;
  return (
    <section className="stack" aria-label="Live">
      <ErrorBox error={rt.error} />
      {!d && rt.loading && <Spinner />}
      {d && (
        <>
          <div className="kpis">
            <Kpi label="Gateway replicas" value={fmt(d.gateways.replicas)} />
            <Kpi label="Connections" value={fmt(d.gateways.connections)} />
            <Kpi label="Subscriptions" value={fmt(d.gateways.subscriptions)} />
            <Kpi label="Jobs queued" value={fmt(d.jobs.length)} sub={`${fmt(d.jobs.dead_letters)} dead-lettered`} />
          </div>
          <div className="table-wrap card">
            <h3>Gateway replicas</h3>
            <table>
              <thead>
                <tr>
                  <th scope="col">Node</th>
                  <th scope="col" className="num">Connections</th>
                  <th scope="col" className="num">Subscriptions</th>
                  <th scope="col" className="num">Users</th>
                  <th scope="col">Up since</th>
                  <th scope="col">Heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {d.gateways.nodes.map((n) => (
                  <tr key={n.node_id}>
                    <td>
                      <i className={`dot inline ${n.alive ? "on" : "off"}`} /> <code>{n.node_id}</code>
                    </td>
                    <td className="num">{fmt(n.connections)}</td>
                    <td className="num">{fmt(n.subscriptions)}</td>
                    <td className="num">{fmt(n.users)}</td>
                    <td>{n.started_at ? timeAgo(n.started_at) : "–"}</td>
                    <td>{n.heartbeat_at ? timeAgo(n.heartbeat_at) : "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="table-wrap card">
            <h3>Workers ({d.jobs.stream})</h3>
            <table>
              <thead>
                <tr>
                  <th scope="col">Group</th>
                  <th scope="col" className="num">Consumers</th>
                  <th scope="col" className="num">In flight</th>
                  <th scope="col" className="num">Waiting</th>
                </tr>
              </thead>
              <tbody>
                {d.jobs.groups.map((g) => (
                  <tr key={g.name}>
                    <td>{g.name}</td>
                    <td className="num">{fmt(g.consumers)}</td>
                    <td className="num">{fmt(g.pending)}</td>
                    <td className="num">{fmt(g.lag)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted small">Updated {new Date(d.generated_at).toLocaleTimeString()} · refreshes every 5 s</p>
        </>
      )}
    </section>
  );
}

/** Common prompts: added to the system prompt of every AI conversation, enabled ones in order. */
function Prompts() {
  const { api, client } = useApp();
  const list = useLoad(...promptsRead(client));
  const [prompts, setPrompts] = useState<CommonPrompt[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [content, setContent] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (list.data) setPrompts(list.data);
  }, [list.data]);

  /** Runs one change; false (and the error shown where `report` puts it) when it failed. */
  const act = async (f: () => Promise<void>, report: (e: unknown) => void = setError): Promise<boolean> => {
    report(null);
    setBusy(true);
    try {
      await f();
      return true;
    } catch (e) {
      report(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  // The form's own error, so a refused edit of a listed prompt does not show under it.
  const [createError, setCreateError] = useState<unknown>(null);
  const create = () =>
    act(async () => {
      const created = await api.post<CommonPrompt>("/prompts", { name, content });
      setPrompts((ps) => [...ps, created]);
      setName("");
      setContent("");
    }, setCreateError);
  const update = (p: CommonPrompt, patch: Partial<Pick<CommonPrompt, "name" | "content" | "is_enabled">>) =>
    act(async () => {
      const saved = await api.patch<CommonPrompt>(`/prompts/${p.id}`, patch);
      setPrompts((ps) => ps.map((x) => (x.id === p.id ? saved : x)));
    });
  const remove = (p: CommonPrompt) =>
    act(async () => {
      if (!window.confirm(`Delete the prompt “${p.name}”?`)) return;
      await api.del(`/prompts/${p.id}`);
      setPrompts((ps) => ps.filter((x) => x.id !== p.id));
    });
  const move = (at: number, by: -1 | 1) =>
    act(async () => {
      const ids = prompts.map((p) => p.id);
      [ids[at], ids[at + by]] = [ids[at + by], ids[at]];
      const ordered = await api.put<CommonPrompt[]>("/prompts/order", { ids });
      setPrompts(ordered);
    });

  return (
    <section className="stack" aria-label="Common prompts">
      <p className="muted">
        Enabled prompts are added, in this order, to the system prompt of every AI conversation, before the character&apos;s own.
      </p>
      <ErrorBox error={list.error ?? error} />
      {list.loading && !list.data && <Spinner />}
      {list.data && !prompts.length && <Empty title="No common prompts" />}
      <ol className="stack prompt-list">
        {prompts.map((p, i) => (
          <PromptCard
            key={p.id}
            prompt={p}
            busy={busy}
            first={i === 0}
            last={i === prompts.length - 1}
            onSave={(patch) => update(p, patch)}
            onDelete={() => void remove(p)}
            onMove={(by) => void move(i, by)}
          />
        ))}
      </ol>
      <form
        className="card stack"
        aria-label="New common prompt"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <h3>New prompt</h3>
        <ErrorBox error={createError} />
        <Field label="Prompt name" value={name} onChange={(e) => setName(e.target.value)} error={fieldError(createError, "name")} required />
        <Field label="Prompt text" multiline rows={4} value={content} onChange={(e) => setContent(e.target.value)} error={fieldError(createError, "content")} required />
        <div className="row">
          <button type="submit" className="primary" disabled={busy || !name.trim() || !content.trim()}>
            Add prompt
          </button>
        </div>
      </form>
    </section>
  );
}

function PromptCard(props: {
  prompt: CommonPrompt;
  busy: boolean;
  first: boolean;
  last: boolean;
  onSave: (patch: Partial<Pick<CommonPrompt, "name" | "content" | "is_enabled">>) => Promise<boolean>;
  onDelete: () => void;
  onMove: (by: -1 | 1) => void;
}) {
  const { prompt: p, busy } = props;
  const [content, setContent] = useState(p.content);
  // Shown at once; put back if the change is refused.
  const [enabled, setEnabled] = useState(p.is_enabled);
  // A saved prompt brings its stored values (an unsaved edit of the text is kept otherwise).
  useEffect(() => setContent(p.content), [p.content]);
  useEffect(() => setEnabled(p.is_enabled), [p.is_enabled]);
  const changed = content !== p.content && content.trim() !== "";
  const toggle = async (on: boolean) => {
    setEnabled(on);
    if (!(await props.onSave({ is_enabled: on }))) setEnabled(!on);
  };
  return (
    <li className="card stack" aria-label={`Prompt ${p.name}`}>
      <div className="row spread">
        <strong>{p.name}</strong>
        <label className="row small">
          <input type="checkbox" checked={enabled} disabled={busy} onChange={(e) => void toggle(e.target.checked)} /> Enabled
        </label>
      </div>
      <Field label={`Text of ${p.name}`} multiline rows={3} value={content} onChange={(e) => setContent(e.target.value)} />
      <div className="row">
        <button type="button" className="primary small" disabled={busy || !changed} onClick={() => void props.onSave({ content })}>
          Save
        </button>
        <button type="button" className="small" disabled={busy || props.first} onClick={() => props.onMove(-1)} aria-label={`Move ${p.name} up`}>
          Up
        </button>
        <button type="button" className="small" disabled={busy || props.last} onClick={() => props.onMove(1)} aria-label={`Move ${p.name} down`}>
          Down
        </button>
        <button type="button" className="danger small" disabled={busy} onClick={props.onDelete}>
          Delete
        </button>
      </div>
    </li>
  );
}
