// Admin → Overview: the period's headline figures and daily charts.
import { useState } from "react";
import { useApp, useLoad } from "../../appContext";
import { HBars, StackedBars } from "../../components/Charts";
import { useTranslation } from "../../i18n";
import { ErrorBox, Icon, Spinner, fmt } from "../../ui";
import * as E from "../../lib/endpoints.later";
import { Kpi } from "./Kpi";
import { colors } from "./colors";

export function OverviewTab() {
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
