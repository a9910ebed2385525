// One entry of the conversation: a message being sent, a streamed reply, a person's or an AI's
// message, or a system line.
import { useState } from "react";
import { useTranslation } from "../../i18n";
import type { DisplayItem } from "../../lib/chatState";
import { characterFace, personFace, type CharacterFaces } from "../../lib/identity";
import type { Message } from "../../lib/types";
import { Avatar, clock } from "../../ui";
import { AiBubble } from "./AiBubble";
import { MessageText } from "./MessageText";
import { EditBox } from "./EditBox";

export interface BubbleProps {
  item: DisplayItem;
  /** Continues the previous message's author group: no name or avatar of its own. */
  grouped: boolean;
  /** The message a search opened the conversation at. */
  highlighted?: boolean;
  me: number;
  characters: CharacterFaces;
  /** Display names by user id (the conversation's members). */
  names: Record<number, string>;
  editing: boolean;
  online: Set<number>;
  limit: number;
  onEdit(m: Message): void;
  onCancelEdit(): void;
  onSaveEdit(m: Message, content: string): void;
  onDelete(m: Message): void;
  onRetry(clientId: string, content: string): void;
  onDiscard(clientId: string): void;
}

export function Bubble({ item, grouped, highlighted, me, characters, names, editing, online, limit, onEdit, onCancelEdit, onSaveEdit, onDelete, onRetry, onDiscard }: BubbleProps) {
  const { t } = useTranslation();
  // On a touch screen there is no hover: a tap on one's own message shows its actions.
  const [actionsOpen, setActionsOpen] = useState(false);
  if (item.kind === "pending") {
    const p = item.pending;
    return (
      <div className={`msg mine${grouped ? " grouped" : ""}${p.error ? " failed" : " sending"}`}>
        <div className="bubble">
          <MessageText text={p.content} />
          <div className="meta">
            {p.error ? (
              <>
                <span className="err-text">{t("chat.notSent", { error: p.error })}</span>
                <button type="button" className="link" onClick={() => onRetry(p.clientId, p.content)}>
                  {t("chat.retry")}
                </button>
                <button type="button" className="link" onClick={() => onDiscard(p.clientId)}>
                  {t("chat.discard")}
                </button>
              </>
            ) : (
              t("chat.sending")
            )}
          </div>
        </div>
      </div>
    );
  }
  if (item.kind === "draft") {
    const d = item.draft;
    const c = characterFace(characters, d.characterId, "AI");
    return <AiBubble grouped={grouped} name={c.name} avatar={c.avatarUrl} seed={c.seed} text={d.text} streaming={!d.failed} partial={d.partial} failed={d.failed} />;
  }
  const m = item.message;
  if (m.role === "assistant") {
    const c = characterFace(characters, m.character_id, m.character_name ?? "AI");
    const text = item.draft ? item.draft.text : m.content;
    const failed = item.draft?.failed ?? (m.status === "failed" ? t("chat.failed") : null);
    return (
      <AiBubble
        grouped={grouped}
        highlighted={highlighted}
        name={c.name}
        avatar={c.avatarUrl}
        seed={c.seed}
        text={text}
        streaming={m.status === "streaming" && !failed}
        partial={item.draft?.partial ?? false}
        failed={failed}
        cancelled={m.status === "cancelled"}
        time={m.created_at}
        model={m.model}
      />
    );
  }
  if (m.role === "system" || m.message_type === "system") {
    return <div className="msg system">{m.content}</div>;
  }
  const mine = m.author_id === me;
  const who = personFace(names, m.author_id, m.author_username);
  return (
    <div
      className={`msg${mine ? " mine" : ""}${grouped ? " grouped" : ""}${highlighted ? " hit" : ""}${actionsOpen ? " show-actions" : ""}`}
      data-message-id={m.id}
      onClick={mine && !editing ? (e) => !(e.target as HTMLElement).closest("button, a") && setActionsOpen((o) => !o) : undefined}
    >
      {!mine && (grouped ? <span className="avatar-gap" /> : <Avatar name={who.name} seed={who.seed} size={30} online={m.author_id ? online.has(m.author_id) : undefined} />)}
      <div className="bubble">
        {!mine && !grouped && <div className="author">{who.name}</div>}
        {editing ? (
          <EditBox initial={m.content} limit={limit} onCancel={onCancelEdit} onSave={(t) => onSaveEdit(m, t)} />
        ) : (
          <MessageText text={m.content} />
        )}
        <div className="meta">
          <time dateTime={m.created_at}>{clock(m.created_at)}</time>
          {m.edited_at && <span> · {t("chat.edited")}</span>}
          {mine && !editing && (
            <span className="msg-actions">
              <button type="button" className="link" onClick={() => onEdit(m)} aria-label={t("chat.editMessage")}>
                {t("chat.edit")}
              </button>
              <button type="button" className="link" onClick={() => onDelete(m)} aria-label={t("chat.deleteMessage")}>
                {t("chat.delete")}
              </button>
            </span>
          )}
        </div>
      </div>
    </div>
  );
}
