// One entry of the conversation: a message being sent, a streamed reply, a person's or an AI's
// message, or a system line.
import { Suspense, useState } from "react";
import { useTranslation } from "../../i18n";
import type { DisplayItem } from "../../lib/chatState";
import { characterFace, personFace, type CharacterFaces } from "../../lib/identity";
import type { Message } from "../../lib/types";
import { Avatar, clock } from "../../ui";
import { AiBubble } from "./AiBubble";
import { MessageText } from "./MessageText";
import { EditBox } from "./EditBox";
import { AiTools, BranchButton, ForkNav, loadTree } from "./treeLazy";

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
  /** The conversation is the viewer's AI chat: versions, continue, edit of replies, rerun, branch. */
  tree?: boolean;
  /** The last message of the path (continue and new versions act on it). */
  last?: boolean;
  /** A reply is being generated. */
  busy?: boolean;
  onSelectVariant?(m: Message, index: number): void;
  onRegenerate?(): void;
  onContinue?(m: Message): void;
  onRerun?(m: Message, content: string): void;
  onBranch?(m: Message): void;
}

export function Bubble(props: BubbleProps) {
  const { item, grouped, highlighted, me, characters, names, editing, online, limit, onEdit, onCancelEdit, onSaveEdit, onDelete, onRetry, onDiscard } = props;
  const { tree, last, busy, onSelectVariant, onRerun, onBranch } = props;
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
    const streaming = m.status === "streaming" && !failed;
    const turns = !!m.fork || (!!tree && !!last);
    const tools =
      (turns || tree) && !editing ? (
        <Suspense fallback={null}>
          <AiTools t={t} m={m} last={!!last} tree={!!tree} settled={!streaming && !busy} a={props} />
        </Suspense>
      ) : null;
    return (
      <AiBubble
        messageId={m.id}
        tools={tools}
        onSwipe={turns && !streaming && !busy ? (d) => void loadTree().then((x) => x.swipe(m, d, !!last, !!tree, props)) : undefined}
        body={editing ? <EditBox initial={m.content} limit={limit} onCancel={onCancelEdit} onSave={(t) => onSaveEdit(m, t)} /> : undefined}
        grouped={grouped}
        highlighted={highlighted}
        name={c.name}
        avatar={c.avatarUrl}
        seed={c.seed}
        text={text}
        streaming={streaming}
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
          <EditBox initial={m.content} limit={limit} onCancel={onCancelEdit} onSave={(t) => onSaveEdit(m, t)} onRerun={tree ? (t) => onRerun?.(m, t) : undefined} />
        ) : (
          <MessageText text={m.content} />
        )}
        <div className="meta">
          <time dateTime={m.created_at}>{clock(m.created_at)}</time>
          {m.edited_at && <span> · {t("chat.edited")}</span>}
          {m.fork && !editing && (
            <Suspense fallback={null}>
              <ForkNav t={t} index={m.fork.index} count={m.fork.count} disabled={busy} onSelect={(i) => onSelectVariant?.(m, i)} />
            </Suspense>
          )}
          {mine && !editing && (
            <span className="msg-actions">
              <button type="button" className="link" onClick={() => onEdit(m)} aria-label={t("chat.editMessage")}>
                {t("chat.edit")}
              </button>
              <button type="button" className="link" onClick={() => onDelete(m)} aria-label={t("chat.deleteMessage")}>
                {t("chat.delete")}
              </button>
              {tree && (
                <Suspense fallback={null}>
                  <BranchButton t={t} onClick={() => onBranch?.(m)} />
                </Suspense>
              )}
            </span>
          )}
        </div>
      </div>
    </div>
  );
}
