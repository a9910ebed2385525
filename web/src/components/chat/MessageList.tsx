// The conversation's messages in order, with date separators and author groups; stays at the
// bottom while new text arrives unless the reader scrolled up, and keeps the reader's place when
// older messages are added above.
import { Fragment, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState, type Ref } from "react";
import { useTranslation } from "../../i18n";
import { displayItems } from "../../lib/chatState";
import { layoutMessages } from "../../lib/messageLayout";
import type { Character } from "../../lib/types";
import { Spinner } from "../../ui";
import { Bubble } from "./Bubble";
import { DaySeparator } from "./DaySeparator";
import type { ConversationModel } from "./useConversation";

export interface MessageListHandle {
  /** Follow the newest message again (after a send, or a fresh load). */
  follow(): void;
}

export interface MessageListProps {
  model: ConversationModel;
  me: number;
  characters: Record<number, Character>;
  ref?: Ref<MessageListHandle>;
}

export function MessageList({ model, me, characters, ref }: MessageListProps) {
  const { t } = useTranslation();
  const { state, loading, online, limit } = model;
  const [editing, setEditing] = useState<number | null>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useImperativeHandle(ref, () => ({ follow: () => void (stick.current = true) }), []);

  const items = useMemo(() => displayItems(state), [state]);
  const laidOut = useMemo(() => layoutMessages(items, me), [items, me]);

  // Keep the view at the bottom while new text arrives, unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [items]);

  async function loadOlder() {
    const el = listRef.current;
    const before = el ? el.scrollHeight - el.scrollTop : 0;
    if (!(await model.loadOlder(() => void (stick.current = false)))) return;
    requestAnimationFrame(() => {
      if (el) el.scrollTop = el.scrollHeight - before;
    });
  }

  return (
    <div
      className="messages"
      ref={listRef}
      role="log"
      aria-live="polite"
      aria-relevant="additions"
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
      }}
    >
      {state.hasMore && (
        <button type="button" className="ghost load-older" onClick={loadOlder}>
          {t("chat.loadOlder")}
        </button>
      )}
      {loading && !state.messages.length ? <Spinner /> : null}
      {!loading && !items.length && <div className="muted center pad">{t("chat.empty")}</div>}
      {laidOut.map(({ item, day, grouped }) => (
        <Fragment key={item.key}>
          {day && <DaySeparator day={day} />}
          <Bubble
            grouped={grouped}
            item={item}
            me={me}
            characters={characters}
            editing={item.kind === "message" && editing === item.message.id}
            onEdit={(m) => setEditing(m.id)}
            onCancelEdit={() => setEditing(null)}
            onSaveEdit={(m, content) => void model.saveEdit(m, content).then((ok) => ok && setEditing(null))}
            onDelete={(m) => void model.remove(m)}
            onRetry={(clientId, content) => void model.deliver(clientId, content)}
            onDiscard={model.discard}
            online={online}
            limit={limit}
          />
        </Fragment>
      ))}
    </div>
  );
}
