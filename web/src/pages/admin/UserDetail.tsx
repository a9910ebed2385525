// One user: activate/deactivate, role, usage charts and their conversations.
import { useState } from "react";
import { useApp, useLoad } from "../../appContext";
import { HBars, StackedBars } from "../../components/Charts";
import { locale, useTranslation } from "../../i18n";
import { Avatar, ErrorBox, Icon, Link, Spinner, fmt, timeAgo } from "../../ui";
import * as E from "../../lib/endpoints.later";
import { Kpi } from "./Kpi";
import { colors } from "./colors";
import { Transcript } from "./Transcript";

export function UserDetail({ id }: { id: number }) {
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
