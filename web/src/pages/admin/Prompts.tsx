import { useEffect, useState } from "react";
import { useApp, useLoad } from "../../appContext";
import type { CommonPrompt } from "../../lib/types";
import { useTranslation } from "../../i18n";
import { Empty, ErrorBox, Field, Spinner, fieldError } from "../../ui";
import * as E from "../../lib/endpoints.later";
import { PromptCard } from "./PromptCard";

/** Common prompts: added to the system prompt of every AI conversation, enabled ones in order. */
export function Prompts() {
  const { t } = useTranslation();
  const app = useApp();
  const { client } = app;
  const list = useLoad(...E.prompts(client));
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
