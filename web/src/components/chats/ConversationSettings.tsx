// A conversation's settings: where it sits in one's own list (pinned to the top, archived: any
// member, any kind), and renaming or deleting it (AI chats and group rooms; the API decides who
// may). Its own chunk with the screens' messages (more.*.ts), loaded when opened.
import { useState } from "react";
import { useApp } from "../../appContext";
import { useTranslation } from "../../i18n";
import * as E from "../../lib/endpoints.later";
import type { Conversation } from "../../lib/types";
import { ErrorBox, Field, Icon, Modal, fieldError } from "../../ui";

export function ConversationSettings({
  conversation,
  onClose,
  onChanged,
  onDeleted,
  onArranged,
}: {
  conversation: Conversation;
  onClose(): void;
  onChanged(c: Conversation): void;
  onDeleted(): void;
  onArranged(): void;
}) {
  const app = useApp();
  const { t } = useTranslation();
  const [title, setTitle] = useState(conversation.title);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [place, setPlace] = useState<E.ListState>({ pinned: conversation.pinned, archived: conversation.archived });
  const named = conversation.kind !== "direct";

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
      <div className="row" role="group" aria-label={t("conversation.place")}>
        <button
          type="button"
          aria-pressed={place.pinned}
          disabled={busy}
          onClick={() =>
            void act(async () => {
              setPlace(await E.setPinned(app, conversation.id, !place.pinned));
              onArranged();
            })
          }
        >
          <Icon name="pin" size={14} /> {place.pinned ? t("conversation.unpin") : t("conversation.pin")}
        </button>
        <button
          type="button"
          aria-pressed={place.archived}
          disabled={busy}
          onClick={() =>
            void act(async () => {
              setPlace(await E.setArchived(app, conversation.id, !place.archived));
              onArranged();
            })
          }
        >
          {place.archived ? t("conversation.unarchive") : t("conversation.archive")}
        </button>
      </div>
      {named ? (
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
      ) : (
        <ErrorBox error={error} />
      )}
    </Modal>
  );
}
