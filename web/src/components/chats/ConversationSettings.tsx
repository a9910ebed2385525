// Renaming or deleting a conversation (an AI chat or a group room; the API decides who may).
// Its own chunk with the screens' messages (more.*.ts), loaded when opened.
import { useState } from "react";
import { useApp } from "../../appContext";
import { useTranslation } from "../../i18n";
import * as E from "../../lib/endpoints.later";
import type { Conversation } from "../../lib/types";
import { ErrorBox, Field, Modal, fieldError } from "../../ui";

export function ConversationSettings({ conversation, onClose, onChanged, onDeleted }: { conversation: Conversation; onClose(): void; onChanged(c: Conversation): void; onDeleted(): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const [title, setTitle] = useState(conversation.title);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function act(f: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={t("conversation.settingsTitle")} onClose={onClose}>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => onChanged(await E.renameConversation(app, conversation.id, title.trim())));
        }}
      >
        <Field label={t("conversation.name")} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={100} error={fieldError(error, "title")} />
        <ErrorBox error={error} />
        <div className="row spread">
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={() => {
              if (confirm(t("conversation.confirmDelete", { title: conversation.title }))) void act(async () => {
                await E.deleteConversation(app, conversation.id);
                onDeleted();
              });
            }}
          >
            {t("conversation.delete")}
          </button>
          <span className="row">
            <button type="button" className="ghost" onClick={onClose}>
              {t("common.cancel")}
            </button>
            <button type="submit" className="primary" disabled={busy || !title.trim() || title.trim() === conversation.title}>
              {t("common.save")}
            </button>
          </span>
        </div>
      </form>
    </Modal>
  );
}
