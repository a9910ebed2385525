// Starting a chat with a character: when one already chats with it, a dialog offers those chats
// or a new one (no pile of identical entries); otherwise the new chat opens at once.
import { useState, type ReactNode } from "react";
import { useApp } from "../appContext";
import { useTranslation } from "../i18n";
import * as E from "../lib/endpoints.later";
import { navigate } from "../lib/router";
import type { Conversation } from "../lib/types";
import { Link, Modal, timeAgo } from "../ui";

export function useStartChat(onError: (e: unknown) => void): { start(characterId: number, name: string): void; dialog: ReactNode } {
  const app = useApp();
  const { t } = useTranslation();
  const [choice, setChoice] = useState<{ characterId: number; name: string; chats: Conversation[] } | null>(null);

  async function startNew(characterId: number) {
    const conv = await E.createConversation(app, { kind: "ai_chat", character_id: characterId });
    navigate(`/chats/${conv.id}`);
  }

  function start(characterId: number, name: string) {
    E.chatsWithCharacter(app, characterId)
      .then((chats) => (chats.length ? setChoice({ characterId, name, chats }) : startNew(characterId)))
      .catch(onError);
  }

  const dialog = choice && (
    <Modal title={t("characters.continueTitle", { name: choice.name })} onClose={() => setChoice(null)}>
      <p className="muted">{t("characters.continueText")}</p>
      <ul className="plain-list stack">
        {choice.chats.map((c) => (
          <li key={c.id}>
            <Link to={`/chats/${c.id}`} className="button conv-choice">
              <strong>{c.title}</strong>
              <span className="muted small"> · {timeAgo(c.last_message?.created_at ?? c.created_at)}</span>
            </Link>
          </li>
        ))}
      </ul>
      <div className="row end">
        <button type="button" className="ghost" onClick={() => setChoice(null)}>
          {t("common.cancel")}
        </button>
        <button
          type="button"
          className="primary"
          onClick={() => {
            const id = choice.characterId;
            setChoice(null);
            startNew(id).catch(onError);
          }}
        >
          {t("characters.newChat")}
        </button>
      </div>
    </Modal>
  );
  return { start, dialog };
}
