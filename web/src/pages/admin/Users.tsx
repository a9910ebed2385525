// Admin → Users: searchable, paged list of accounts with this month's usage.
import { useEffect, useState } from "react";
import { useApp, useLoad } from "../../appContext";
import { useTranslation } from "../../i18n";
import { ErrorBox, Link, Spinner, fmt, timeAgo } from "../../ui";
import * as E from "../../lib/endpoints.later";

export function Users() {
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
