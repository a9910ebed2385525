// The administrators' dashboard over admin-stats: overview charts, users (search, detail,
// activate/deactivate, role), a user's conversations and usage, the live real-time tier, and the
// common prompts every AI conversation's system prompt starts with (api-service /prompts).
import { useEffect, useState } from "react";
import { useApp, useLoad } from "../appContext";
import { HBars, StackedBars } from "../components/Charts";
import * as E from "../lib/endpoints";
import { prompts as promptsRead } from "../lib/endpoints";
import { navigate } from "../lib/router";
import type { CommonPrompt } from "../lib/types";
import { locale, useTranslation } from "../i18n";
import { Avatar, Empty, ErrorBox, Field, Icon, Link, Spinner, Tabs, clock, fieldError, fmt, timeAgo } from "../ui";

type Tab = "overview" | "users" | "live" | "prompts";

const colors = { user: "#6d5dfc", ai: "#1f9d8b", prompt: "#3b82f6", completion: "#e08a1e", failed: "#e4577a" };

export function AdminPage({ userId, tab }: { userId: number | null; tab: string }) {
  const { t } = useTranslation();
  const current: Tab = userId ? "users" : tab === "users" || tab === "live" || tab === "prompts" ? tab : "overview";
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("nav.admin")}</h1>
      </div>
      <Tabs
        label={t("admin.sections")}
        value={current}
        onChange={(v) => navigate(v === "overview" ? "/admin" : `/admin/${v}`)}
        tabs={[
          ["overview", t("admin.overview")],
          ["users", t("admin.users")],
          ["live", t("admin.live")],
          ["prompts", t("admin.prompts")],
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
  const { t } = useTranslation();
  const app = useApp();
  const [days, setDays] = useState(30);
  const o = useLoad(...E.adminOverview(app, days));
  const d = o.data;
  return (
    <section className="stack" aria-label={t("admin.overview")}>
      <div className="row">
        <label htmlFor="period">{t("admin.period")}</label>
        <select id="period" value={days} onChange={(e) => setDays(Number(e.target.value))}>
          <option value={7}>{t("admin.lastDays", { n: 7 })}</option>
          <option value={30}>{t("admin.lastDays", { n: 30 })}</option>
          <option value={90}>{t("admin.lastDays", { n: 90 })}</option>
        </select>
        <button type="button" className="ghost small" onClick={o.reload} aria-label={t("admin.refresh")}>
          <Icon name="refresh" size={16} />
        </button>
      </div>
      <ErrorBox error={o.error} />
      {o.loading && !d && <Spinner />}
      {d && (
        <>
          <div className="kpis">
            <Kpi label={t("admin.users")} value={fmt(d.users.total)} sub={t("admin.usersSub", { new: fmt(d.users.new), active: fmt(d.users.active) })} />
            <Kpi label={t("admin.messages")} value={fmt(d.messages.total)} sub={t("admin.messagesSub", { people: fmt(d.messages.user), ai: fmt(d.messages.ai) })} />
            <Kpi label={t("admin.tokens")} value={fmt(d.tokens.total)} sub={t("admin.tokensSub", { prompt: fmt(d.tokens.prompt), completion: fmt(d.tokens.completion) })} />
            <Kpi label={t("admin.generations")} value={fmt(d.generations.total)} sub={t("admin.generationsSub", { failed: fmt(d.generations.failed), stopped: fmt(d.generations.cancelled) })} />
            <Kpi label={t("admin.latency")} value={d.latency_ms.p50 != null ? `${fmt(d.latency_ms.p50)} ms` : "–"} sub={d.latency_ms.p99 != null ? `p99 ${fmt(d.latency_ms.p99)} ms` : undefined} />
          </div>
          <div className="charts">
            <StackedBars
              title={t("admin.messagesPerDay")}
              labels={d.daily.map((x) => x.day)}
              series={[{ name: t("admin.people"), color: colors.user }, { name: t("admin.ai"), color: colors.ai }]}
              values={[d.daily.map((x) => x.user_messages), d.daily.map((x) => x.ai_messages)]}
            />
            <StackedBars
              title={t("admin.tokensPerDay")}
              labels={d.daily.map((x) => x.day)}
              series={[{ name: t("admin.prompt"), color: colors.prompt }, { name: t("admin.completion"), color: colors.completion }]}
              values={[d.daily.map((x) => x.prompt_tokens), d.daily.map((x) => x.completion_tokens)]}
            />
            <HBars title={t("admin.tokensByModel")} rows={d.by_model.map((m) => ({ label: m.model, value: m.tokens.total, note: t("admin.replies", { n: fmt(m.generations.total) }) }))} color={colors.completion} />
            <HBars title={t("admin.topCharacters")} rows={d.top_characters.map((c) => ({ label: c.name ?? `#${c.character_id}`, value: c.messages }))} color={colors.ai} />
          </div>
        </>
      )}
    </section>
  );
}

function Users() {
  const { t } = useTranslation();
  const app = useApp();
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
  const list = useLoad(...E.adminUsers(app, query, limit, offset));
  const total = list.data?.total ?? 0;
  return (
    <section className="stack" aria-label={t("admin.users")}>
      <div className="field inline">
        <label htmlFor="user-search">{t("admin.searchUsers")}</label>
        <input id="user-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder={t("admin.searchPlaceholder")} />
      </div>
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t("admin.user")}</th>
              <th scope="col">{t("admin.role")}</th>
              <th scope="col">{t("admin.status")}</th>
              <th scope="col" className="num">{t("admin.messagesMonth")}</th>
              <th scope="col" className="num">{t("admin.tokensMonth")}</th>
              <th scope="col">{t("admin.lastActive")}</th>
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
                  <span className={`role role-${u.role}`}>{t(`admin.role_${u.role}`)}</span>
                </td>
                <td>{u.is_active ? t("admin.active") : <span className="danger-text">{t("admin.deactivated")}</span>}</td>
                <td className="num">{fmt(u.messages_month)}</td>
                <td className="num">{fmt(u.tokens_month)}</td>
                <td>{u.last_active_at ? timeAgo(u.last_active_at) : t("admin.never")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.loading && <Spinner />}
      <div className="row">
        <span className="muted small grow">
          {total ? t("admin.range", { from: offset + 1, to: Math.min(offset + limit, total), total }) : list.data ? t("admin.noUsers") : ""}
        </span>
        <button type="button" className="small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - limit))}>
          {t("admin.previous")}
        </button>
        <button type="button" className="small" disabled={offset + limit >= total} onClick={() => setOffset(offset + limit)}>
          {t("admin.next")}
        </button>
      </div>
    </section>
  );
}

function UserDetail({ id }: { id: number }) {
  const { t } = useTranslation();
  const app = useApp();
  const { user: me, toast } = app;
  const detail = useLoad(...E.adminUser(app, id));
  const usage = useLoad(...E.adminUsage(app, id, "day"));
  const byModel = useLoad(...E.adminUsage(app, id, "model"));
  const convs = useLoad(...E.adminConversations(app, id));
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const u = detail.data;

  async function patch(body: { is_active?: boolean; role?: string }, done: string) {
    setError(null);
    try {
      await E.adminPatchUser(app, id, body);
      toast(done);
      detail.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section className="stack" aria-label={t("admin.user")}>
      <Link to="/admin/users" className="button ghost small">
        <Icon name="back" size={14} /> {t("admin.allUsers")}
      </Link>
      <ErrorBox error={detail.error ?? error} onDismiss={() => setError(null)} />
      {!u && detail.loading && <Spinner />}
      {u && (
        <div className="card row wrap">
          <Avatar name={u.display_name || u.username} url={u.avatar_url} size={52} />
          <div className="grow">
            <h2>{u.display_name || u.username}</h2>
            <div className="muted small">
              @{u.username} · {u.email} · {t("admin.joined", { date: new Date(u.created_at).toLocaleDateString(locale()) })} · {t("admin.lastActiveAt", { when: u.last_active_at ? timeAgo(u.last_active_at) : t("admin.never") })}
            </div>
            <div className="small">
              <span className={`role role-${u.role}`}>{t(`admin.role_${u.role}`)}</span> · {u.is_active ? t("admin.active") : <span className="danger-text">{t("admin.deactivated")}</span>} · {t("admin.conversationCount", { n: fmt(u.conversations) })}
            </div>
          </div>
          {u.id !== me.id && (
            <div className="row wrap">
              <button type="button" className={u.is_active ? "danger small" : "primary small"} onClick={() => patch({ is_active: !u.is_active }, u.is_active ? t("admin.deactivatedToast") : t("admin.reactivatedToast"))}>
                {u.is_active ? t("admin.deactivate") : t("admin.reactivate")}
              </button>
              <button type="button" className="small" onClick={() => patch({ role: u.role === "admin" ? "user" : "admin" }, t("admin.roleChanged"))}>
                {u.role === "admin" ? t("admin.makeUser") : t("admin.makeAdmin")}
              </button>
            </div>
          )}
        </div>
      )}
      {u && (
        <div className="kpis">
          <Kpi label={t("admin.messagesThisMonth")} value={fmt(u.this_month.messages)} sub={t("admin.allTime", { n: fmt(u.all_time.messages) })} />
          <Kpi label={t("admin.repliesThisMonth")} value={fmt(u.this_month.replies)} sub={t("admin.allTime", { n: fmt(u.all_time.replies) })} />
          <Kpi label={t("admin.tokensThisMonth")} value={fmt(u.this_month.total_tokens)} sub={t("admin.allTime", { n: fmt(u.all_time.total_tokens) })} />
        </div>
      )}
      <ErrorBox error={usage.error} />
      {usage.data && (
        <div className="charts">
          <StackedBars
            title={t("admin.tokensPerDay30")}
            labels={usage.data.items.map((i) => i.day ?? "")}
            series={[{ name: t("admin.prompt"), color: colors.prompt }, { name: t("admin.completion"), color: colors.completion }]}
            values={[usage.data.items.map((i) => i.prompt_tokens), usage.data.items.map((i) => i.completion_tokens)]}
          />
          <HBars title={t("admin.tokensByModel")} rows={(byModel.data?.items ?? []).map((i) => ({ label: i.model ?? "?", value: i.total_tokens, note: t("admin.replies", { n: fmt(i.replies) }) }))} color={colors.completion} />
        </div>
      )}
      <div className="split-inline">
        <div className="card">
          <h3>{t("admin.conversations")}</h3>
          <ErrorBox error={convs.error} />
          {convs.data && !convs.data.items.length && <p className="muted">{t("admin.none")}</p>}
          <ul className="plain-list">
            {convs.data?.items.map((c) => (
              <li key={c.id}>
                <button type="button" className={`conv-button${open === c.id ? " active" : ""}`} onClick={() => setOpen(c.id)}>
                  <strong>{c.title || (c.kind === "direct" ? t("admin.directMessage") : t("admin.untitled"))}</strong> <span className={`kind kind-${c.kind}`}>{t(`admin.kind_${c.kind}`)}</span>
                  <div className="muted small ellipsis">{c.last_message?.content ?? t("admin.noMessages")}</div>
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
  const { t } = useTranslation();
  const app = useApp();
  const page = useLoad(...E.adminTranscript(app, userId, conversationId));
  return (
    <div className="card transcript" aria-label={t("admin.messages")}>
      <h3>{t("admin.messages")}</h3>
      <ErrorBox error={page.error} />
      {page.loading && <Spinner />}
      <ol className="plain-list">
        {page.data?.items.map((m) => (
          <li key={m.id} className={`t-${m.role}`}>
            <span className="muted small">
              {clock(m.created_at)} · {m.role === "assistant" ? `${t("admin.ai")}${m.model ? ` (${m.model})` : ""}` : m.author_username}
              {m.completion_tokens != null && ` · ${t("admin.tokenCount", { n: fmt((m.prompt_tokens ?? 0) + m.completion_tokens) })}`}
            </span>
            <div className={m.deleted_at ? "muted" : ""}>{m.deleted_at ? `${t("admin.deleted")} ` : ""}{m.content}</div>
          </li>
        ))}
      </ol>
    </div>
  );
}

function Live() {
  const { t } = useTranslation();
  const app = useApp();
  const rt = useLoad(...E.adminRealtime(app));
  useEffect(() => {
    const timer = setInterval(() => rt.reload(), 5000);
    return () => clearInterval(timer);
  }, [rt]);
  const d = rt.data;
  return (
    <section className="stack" aria-label={t("admin.live")}>
      <ErrorBox error={rt.error} />
      {!d && rt.loading && <Spinner />}
      {d && (
        <>
          <div className="kpis">
            <Kpi label={t("admin.gatewayReplicas")} value={fmt(d.gateways.replicas)} />
            <Kpi label={t("admin.connections")} value={fmt(d.gateways.connections)} />
            <Kpi label={t("admin.subscriptions")} value={fmt(d.gateways.subscriptions)} />
            <Kpi label={t("admin.jobsQueued")} value={fmt(d.jobs.length)} sub={t("admin.deadLettered", { n: fmt(d.jobs.dead_letters) })} />
          </div>
          <div className="table-wrap card">
            <h3>{t("admin.gatewayReplicas")}</h3>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("admin.node")}</th>
                  <th scope="col" className="num">{t("admin.connections")}</th>
                  <th scope="col" className="num">{t("admin.subscriptions")}</th>
                  <th scope="col" className="num">{t("admin.users")}</th>
                  <th scope="col">{t("admin.upSince")}</th>
                  <th scope="col">{t("admin.heartbeat")}</th>
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
            <h3>{t("admin.workers", { stream: d.jobs.stream })}</h3>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("admin.group")}</th>
                  <th scope="col" className="num">{t("admin.consumers")}</th>
                  <th scope="col" className="num">{t("admin.inFlight")}</th>
                  <th scope="col" className="num">{t("admin.waiting")}</th>
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
          <p className="muted small">{t("admin.updated", { time: new Date(d.generated_at).toLocaleTimeString(locale()) })}</p>
        </>
      )}
    </section>
  );
}

/** Common prompts: added to the system prompt of every AI conversation, enabled ones in order. */
function Prompts() {
  const { t } = useTranslation();
  const app = useApp();
  const { client } = app;
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
      const created = await E.createPrompt(app, { name, content });
      setPrompts((ps) => [...ps, created]);
      setName("");
      setContent("");
    }, setCreateError);
  const update = (p: CommonPrompt, patch: Partial<Pick<CommonPrompt, "name" | "content" | "is_enabled">>) =>
    act(async () => {
      const saved = await E.updatePrompt(app, p.id, patch);
      setPrompts((ps) => ps.map((x) => (x.id === p.id ? saved : x)));
    });
  const remove = (p: CommonPrompt) =>
    act(async () => {
      if (!window.confirm(t("admin.confirmDeletePrompt", { name: p.name }))) return;
      await E.deletePrompt(app, p.id);
      setPrompts((ps) => ps.filter((x) => x.id !== p.id));
    });
  const move = (at: number, by: -1 | 1) =>
    act(async () => {
      const ids = prompts.map((p) => p.id);
      [ids[at], ids[at + by]] = [ids[at + by], ids[at]];
      const ordered = await E.reorderPrompts(app, ids);
      setPrompts(ordered);
    });

  return (
    <section className="stack" aria-label={t("admin.commonPrompts")}>
      <p className="muted">
        {t("admin.promptsIntro")}
      </p>
      <ErrorBox error={list.error ?? error} />
      {list.loading && !list.data && <Spinner />}
      {list.data && !prompts.length && <Empty title={t("admin.noPrompts")} />}
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
        aria-label={t("admin.newPromptLabel")}
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <h3>{t("admin.newPrompt")}</h3>
        <ErrorBox error={createError} />
        <Field label={t("admin.promptName")} value={name} onChange={(e) => setName(e.target.value)} error={fieldError(createError, "name")} required />
        <Field label={t("admin.promptText")} multiline rows={4} value={content} onChange={(e) => setContent(e.target.value)} error={fieldError(createError, "content")} required />
        <div className="row">
          <button type="submit" className="primary" disabled={busy || !name.trim() || !content.trim()}>
            {t("admin.addPrompt")}
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
  const { t } = useTranslation();
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
    <li className="card stack" aria-label={t("admin.promptItem", { name: p.name })}>
      <div className="row spread">
        <strong>{p.name}</strong>
        <label className="row small">
          <input type="checkbox" checked={enabled} disabled={busy} onChange={(e) => void toggle(e.target.checked)} /> {t("admin.enabled")}
        </label>
      </div>
      <Field label={t("admin.textOf", { name: p.name })} multiline rows={3} value={content} onChange={(e) => setContent(e.target.value)} />
      <div className="row">
        <button type="button" className="primary small" disabled={busy || !changed} onClick={() => void props.onSave({ content })}>
          {t("common.save")}
        </button>
        <button type="button" className="small" disabled={busy || props.first} onClick={() => props.onMove(-1)} aria-label={t("admin.moveUp", { name: p.name })}>
          {t("admin.up")}
        </button>
        <button type="button" className="small" disabled={busy || props.last} onClick={() => props.onMove(1)} aria-label={t("admin.moveDown", { name: p.name })}>
          {t("admin.down")}
        </button>
        <button type="button" className="danger small" disabled={busy} onClick={props.onDelete}>
          {t("admin.delete")}
        </button>
      </div>
    </li>
  );
}
