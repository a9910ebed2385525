// Admin → Live: the real-time tier (gateway replicas, job queue), read every 5 s.
import { useEffect } from "react";
import { useApp, useLoad } from "../../appContext";
import { locale, useTranslation } from "../../i18n";
import { ErrorBox, Spinner, fmt, timeAgo } from "../../ui";
import * as E from "../../lib/endpoints.later";
import { Kpi } from "./Kpi";

export function Live() {
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
