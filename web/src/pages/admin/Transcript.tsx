// The messages of one of a user's conversations, as administrators see them.
import { useApp, useLoad } from "../../appContext";
import { useTranslation } from "../../i18n";
import { ErrorBox, Spinner, clock, fmt } from "../../ui";
import * as E from "../../lib/endpoints.later";

export function Transcript({ userId, conversationId }: { userId: number; conversationId: number }) {
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
