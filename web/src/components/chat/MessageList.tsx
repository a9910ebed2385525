// The conversation's messages in order, with date separators and author groups, virtualized
// (virtua: only the rows near the viewport are in the page, so thousands of messages scroll
// smoothly). It stays at the bottom while new text arrives unless the reader scrolled up;
// scrolling near the top loads older messages and keeps the reader's place (virtua's `shift`);
// opened at a search hit it shows that message in the middle and loads newer ones below.
import { forwardRef, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState } from "react";
import { Virtualizer, type VirtualizerHandle } from "virtua";
import { useTranslation } from "../../i18n";
import { displayItems } from "../../lib/chatState";
import { layoutMessages } from "../../lib/messageLayout";
import type { CharacterFaces } from "../../lib/identity";
import { Spinner } from "../../ui";
import { MessageRow, type BubbleActions } from "./MessageRow";
import { loadTree } from "./treeLazy";
import type { ConversationModel } from "./useConversation";

export interface MessageListHandle {
  /** Follow the newest message again (after a send, or a fresh load). */
  follow(): void;
}

export interface MessageListProps {
  model: ConversationModel;
  me: number;
  characters: CharacterFaces;
  names: Record<number, string>;
  /** A message to bring into view and mark (a search hit). */
  focus?: number | null;
  /** The viewer's AI chat: versions, continue, edits of replies, rerun and branches. */
  tree?: boolean;
}

/** Within this many pixels of an end, the next page there loads. */
const LOAD_MARGIN = 600;
/** Within this many pixels of the bottom, new text keeps the view at the bottom. */
const STICK_MARGIN = 60;
/** The list's padding above the first row (styles.css `.messages`). */
const LIST_PADDING = 12;

// forwardRef rather than React 19's ref-as-a-prop: preact/compat (vite.config.ts) passes a ref
// to function components only through forwardRef.
export const MessageList = forwardRef<MessageListHandle, MessageListProps>(function MessageList(
  { model, me, characters, names, focus, tree },
  ref,
) {
  const { t } = useTranslation();
  const { state, loading, online, limit } = model;
  const [editing, setEditing] = useState<number | null>(null);
  const [paging, setPaging] = useState<"older" | "newer" | null>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const virt = useRef<VirtualizerHandle>(null);
  const stick = useRef(!focus);
  const focusPending = useRef(focus ?? null);
  useImperativeHandle(ref, () => ({ follow: () => void (stick.current = true) }), []);

  // The same functions for the list's lifetime, so rows scrolled past need not render again.
  const latest = useRef(model);
  latest.current = model;
  const actions = useMemo<BubbleActions>(
    () => ({
      onEdit: (m) => setEditing(m.id),
      onCancelEdit: () => setEditing(null),
      onSaveEdit: (m, content) => void latest.current.saveEdit(m, content).then((ok) => ok && setEditing(null)),
      onDelete: (m) => void latest.current.remove(m),
      onRetry: (clientId, content) => void latest.current.deliver(clientId, content),
      onDiscard: (clientId) => latest.current.discard(clientId),
      onSelectVariant: (m, i) => void latest.current.selectVariant(m, i),
      onRegenerate: () => void latest.current.regenerate(),
      onContinue: (m) => {
        stick.current = true;
        void latest.current.continueReply(m);
      },
      onRerun: (m, content) => void latest.current.rerun(m, content).then((ok) => ok && setEditing(null)),
      onBranch: (m) => void latest.current.branch(m),
    }),
    [],
  );

  const items = useMemo(() => displayItems(state), [state]);
  const lastMessage = state.newerFrom === null ? state.messages[state.messages.length - 1] : undefined;
  const busy = !!model.job;

  // ← → flip the versions of the last AI turn (past the last one: a new version), unless typing.
  const keyState = useRef({ lastMessage, busy, tree, actions });
  keyState.current = { lastMessage, busy, tree, actions };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.key !== "ArrowLeft" && e.key !== "ArrowRight") || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      const k = keyState.current;
      void loadTree().then((x) => x.onKey(e, k.lastMessage, k.busy, !!k.tree, k.actions));
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const rows = useMemo(() => layoutMessages(items, me), [items, me]);

  // Rows added above the first one shown (an older page): virtua keeps the distance from the end,
  // so what the reader looks at stays put.
  const firstKey = useRef<string | null>(null);
  const first = rows[0]?.item.key ?? null;
  const shift = firstKey.current !== null && first !== firstKey.current && rows.some((r) => r.item.key === firstKey.current);
  useLayoutEffect(() => {
    firstKey.current = first;
  });

  const toBottom = () => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  };
  // New text, or rows measured taller than estimated: keep the newest in view.
  useLayoutEffect(toBottom, [rows]);

  // Opened at a search hit: scroll it to the middle once it is loaded.
  useEffect(() => {
    focusPending.current = focus ?? null;
    if (focus) stick.current = false;
  }, [focus]);
  useEffect(() => {
    const f = focusPending.current;
    if (!f) return;
    const at = rows.findIndex((r) => r.item.kind === "message" && r.item.message.id === f);
    if (at < 0) return;
    focusPending.current = null;
    virt.current?.scrollToIndex(at, { align: "center" });
  }, [rows]);

  async function page(which: "older" | "newer") {
    if (paging) return;
    setPaging(which);
    try {
      if (which === "older") await model.loadOlder(() => void (stick.current = false));
      else await model.loadNewer();
    } finally {
      setPaging(null);
    }
  }

  // Scrolled near an end that has more: the next page there loads.
  function onScroll() {
    const el = listRef.current;
    if (!el) return;
    const fromBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
    stick.current = state.newerFrom === null && fromBottom < STICK_MARGIN;
    if (paging || loading) return;
    if (state.hasMore && el.scrollTop < LOAD_MARGIN) void page("older");
    else if (state.newerFrom !== null && fromBottom < LOAD_MARGIN) void page("newer");
  }
  // A first page shorter than the view cannot be scrolled: load on until it fills or ends.
  useEffect(() => {
    const el = listRef.current;
    if (el && !loading && !paging && state.hasMore && el.scrollHeight <= el.clientHeight) void page("older");
  }); // eslint-disable-line react-hooks/exhaustive-deps

  const pager = (which: "older" | "newer") =>
    paging === which ? (
      <div key={`pager-${which}`} className={`pager ${which}`}>
        <Spinner />
      </div>
    ) : (
      <button key={`pager-${which}`} type="button" className={`pager ${which} ghost small`} onClick={() => void page(which)}>
        {which === "older" ? t("chat.loadOlder") : t("chat.loadNewer")}
      </button>
    );

  // Keys on the siblings: preact/compat (vite.config.ts) matches unkeyed children by type, so
  // without them the pager's spinner <div> took over the list's <div> and its scroll position.
  return (
    <div className="messages-wrap">
      {state.hasMore && pager("older")}
      <div key="messages" className="messages" ref={listRef} role="log" aria-live="polite" aria-relevant="additions" onScroll={onScroll} data-count={items.length}>
        {loading && !state.messages.length ? <Spinner /> : null}
        {!loading && !items.length && <div className="muted center pad">{t("chat.empty")}</div>}
        <Virtualizer ref={virt} scrollRef={listRef} startMargin={LIST_PADDING} data={rows} shift={shift} bufferSize={400} onResize={toBottom}>
          {(row) => (
            <MessageRow
              key={row.item.key}
              row={row}
              me={me}
              characters={characters}
              names={names}
              highlighted={!!focus && row.item.kind === "message" && row.item.message.id === focus}
              editing={row.item.kind === "message" && editing === row.item.message.id}
              online={online}
              limit={limit}
              actions={actions}
              tree={tree}
              last={row.item.kind === "message" && row.item.message.id === lastMessage?.id}
              busy={busy}
            />
          )}
        </Virtualizer>
      </div>
      {state.newerFrom !== null && pager("newer")}
      {state.newerFrom !== null && (
        <button type="button" className="to-latest primary small" onClick={() => model.toLatest()}>
          {t("chat.toLatest")}
        </button>
      )}
    </div>
  );
});
