// The state of one open conversation: history over REST, live events from the gateway (streamed
// AI replies, edits, typing, presence), and the actions on it (send, retry, edit, delete, stop,
// regenerate). The view (ChatView) only lays it out and keeps the scroll position.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useApp } from "../../appContext";
import { t as tr } from "../../i18n";
import { ApiError, errorText } from "../../lib/api";
import * as ep from "../../lib/endpoints";
import {
  activeJob, addPending, applyEvent, emptyChat, failPending, limitFromError, mergeMessages, mergeNewer, removePending, replacePath, resetAround, resetMessages,
  type ChatState,
} from "../../lib/chatState";
import { GatewayError } from "../../lib/protocol";
import type { Conversation, Message } from "../../lib/types";
import { randomId } from "../../ui";
import { LIMIT_KEY, isValidation, storedLimit } from "./messageLimit";

export interface ConversationCallbacks {
  onActivity?(m: Message): void;
  onPresence?(online: Set<number>): void;
  onMembersChanged?(): void;
  /** History was (re)loaded from scratch, or one's own message went out: show the newest. */
  onFollow?(): void;
}

/**
 * `focus`: a message to open the conversation at (a search hit): the history around it is
 * loaded instead of the latest page, and newer pages load as the reader scrolls down.
 */
export function useConversation(conversation: Conversation, callbacks: ConversationCallbacks, focus?: number | null) {
  const app = useApp();
  const { api, gw, user, sessionEpoch } = app;
  const id = conversation.id;
  const [state, setState] = useState<ChatState>(emptyChat);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [typing, setTyping] = useState<Record<number, { name: string; until: number }>>({});
  const [online, setOnline] = useState<Set<number>>(new Set());
  const [limit, setLimit] = useState(storedLimit);
  const loadSeq = useRef(0);
  const cbs = useRef(callbacks);
  cbs.current = callbacks;

  /** `path`: the active path changed (a version or branch chosen, a version added, an edit rerun),
   * so the fresh page replaces what is held. */
  const reload = useCallback(async (path?: boolean) => {
    const seq = ++loadSeq.current;
    try {
      const page = await ep.messages(app, id, { limit: 50 });
      if (seq !== loadSeq.current) return;
      setState((s) => (path ? replacePath : resetMessages)(s, page.items, page.has_more));
      setError(null);
    } catch (e) {
      if (seq === loadSeq.current) setError(e);
    } finally {
      if (seq === loadSeq.current) setLoading(false);
    }
  }, [api, id]);

  // The message a window in older history was opened at; a reset from the gateway reopens it.
  const windowAt = useRef<number | null>(null);
  const openAt = useCallback(async (messageId: number) => {
    windowAt.current = messageId;
    const seq = ++loadSeq.current;
    try {
      const [older, newer] = await Promise.all([
        ep.messages(app, id, { before: messageId + 1, limit: 25 }),
        ep.messages(app, id, { after: messageId, limit: 25 }),
      ]);
      if (seq !== loadSeq.current) return;
      setState((s) => resetAround(s, older.items, older.has_more, newer.items, newer.has_more));
      setError(null);
    } catch (e) {
      if (seq === loadSeq.current) setError(e);
    } finally {
      if (seq === loadSeq.current) setLoading(false);
    }
  }, [api, id]);
  const focusRef = useRef(focus);
  focusRef.current = focus;

  // History over REST (around the focused message, else the latest), then live events; a reset
  // from the gateway reloads the latest.
  useEffect(() => {
    setState(emptyChat);
    setLoading(true);
    setError(null);
    setTyping({});
    setOnline(new Set());
    if (focusRef.current) void openAt(focusRef.current);
    else {
      cbs.current.onFollow?.();
      void reload();
    }
    const off = gw.subscribe(id, {
      onReset: () => void (windowAt.current ? openAt(windowAt.current) : reload()),
      onEvent: (ev) => {
        if (ev.type === "typing") {
          if (ev.user_id !== user.id) setTyping((t) => ({ ...t, [ev.user_id]: { name: ev.username, until: Date.now() + 4000 } }));
          return;
        }
        if (ev.type.startsWith("member.")) {
          cbs.current.onMembersChanged?.();
          return;
        }
        if (ev.type === "message.variant_added" || ev.type === "message.variant_selected" || ev.type === "conversation.path_changed") {
          windowAt.current = null;
          void reload(true);
          return;
        }
        setState((s) => applyEvent(s, ev));
        if (ev.type === "message.created" || ev.type === "message.completed") {
          const m = ev.message;
          if (m.author_id) setTyping((t) => (t[m.author_id!] ? Object.fromEntries(Object.entries(t).filter(([k]) => Number(k) !== m.author_id)) : t));
          cbs.current.onActivity?.(m);
        }
      },
      onPresence: (uid, on) =>
        setOnline((o) => {
          const n = new Set(o);
          if (on) n.add(uid);
          else n.delete(uid);
          return n;
        }),
      onError: (code, message) => setError(new ApiError(404, code, code === "removed" ? tr("chat.removed") : message)),
    });
    return off;
  }, [id, gw, reload, user.id]); // eslint-disable-line react-hooks/exhaustive-deps

  // Another search hit in the same conversation.
  const firstFocus = useRef(focus);
  useEffect(() => {
    if (focus && focus !== firstFocus.current) void openAt(focus);
    firstFocus.current = undefined;
  }, [focus, openAt]);

  // Logged in again after the session ended: what failed meanwhile loads now.
  const firstEpoch = useRef(sessionEpoch);
  useEffect(() => {
    if (sessionEpoch === firstEpoch.current) return;
    setError(null);
    void reload();
  }, [sessionEpoch, reload]);

  useEffect(() => {
    cbs.current.onPresence?.(online);
  }, [online]);

  // Typing indicators fade ~4 s after the last frame.
  useEffect(() => {
    if (!Object.keys(typing).length) return;
    const t = setInterval(() => {
      const now = Date.now();
      setTyping((cur) => {
        const next = Object.fromEntries(Object.entries(cur).filter(([, v]) => v.until > now));
        return Object.keys(next).length === Object.keys(cur).length ? cur : next;
      });
    }, 1000);
    return () => clearInterval(t);
  }, [typing]);

  // Read receipts: the newest message seen while the page is visible.
  const newestId = state.messages.length ? state.messages[state.messages.length - 1].id : 0;
  const lastRead = useRef(0);
  useEffect(() => {
    if (!newestId || newestId <= lastRead.current || document.visibilityState !== "visible") return;
    const t = setTimeout(() => {
      lastRead.current = newestId;
      ep.markRead(app, id, newestId).catch(() => undefined);
    }, 400);
    return () => clearTimeout(t);
  }, [api, id, newestId]);

  const job = activeJob(state);

  /** The page before the oldest message shown; `beforeMerge` runs just before it is added. */
  async function loadOlder(beforeMerge?: () => void): Promise<boolean> {
    const oldest = state.messages[0]?.id;
    if (!oldest) return false;
    try {
      const page = await ep.messages(app, id, { before: oldest, limit: 50 });
      beforeMerge?.();
      setState((s) => mergeMessages(s, page.items, page.has_more));
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }

  /** The page after the newest message of a window in older history. */
  async function loadNewer(): Promise<boolean> {
    const from = state.newerFrom;
    if (from === null) return false;
    try {
      const page = await ep.messages(app, id, { after: from, limit: 50 });
      setState((s) => (s.newerFrom === from ? mergeNewer(s, page.items, page.has_more) : s));
      // Reached the live end: from here on it is the ordinary latest view.
      if (!page.has_more) windowAt.current = null;
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }

  /** Back to the latest messages from a window in older history. */
  function toLatest() {
    windowAt.current = null;
    cbs.current.onFollow?.();
    void reload();
  }

  async function deliver(clientId: string, content: string) {
    setState((s) => failPending(s, clientId, ""));
    try {
      let message: Message;
      try {
        if (!gw.isOpen) throw new GatewayError("offline", "not connected");
        message = (await gw.send(id, content, clientId)).message;
      } catch (e) {
        if (e instanceof GatewayError && ["offline", "timeout", "closed", "unavailable"].includes(e.code)) {
          // The same client_id makes this safe even if the socket's send did land.
          message = (await ep.sendMessage(app, id, content, clientId)).message;
        } else throw e;
      }
      cbs.current.onFollow?.();
      setState((s) => removePending(mergeMessages(s, [message]), clientId));
      localStorage.removeItem(`chat.draft.${id}`);
    } catch (e) {
      const v = isValidation(e);
      const n = v ? limitFromError(v) : null;
      if (n) {
        setLimit(n);
        localStorage.setItem(LIMIT_KEY, String(n));
      }
      setState((s) => failPending(s, clientId, errorText(e instanceof GatewayError ? new ApiError(0, e.code, e.message) : e)));
    }
  }

  async function send(content: string) {
    const clientId = randomId();
    if (state.newerFrom !== null) {
      windowAt.current = null;
      void reload();
    }
    cbs.current.onFollow?.();
    setState((s) => addPending(s, clientId, content));
    await deliver(clientId, content);
  }

  async function stop() {
    try {
      await ep.stopReply(app, id, job);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) setError(e);
    }
  }

  async function regenerate() {
    try {
      await ep.regenerate(app, id);
      cbs.current.onFollow?.();
      await reload(true);
    } catch (e) {
      setError(e);
    }
  }

  // The tree's actions (versions, continue, rerun, branch) load with its controls.
  const treeCtx = { app, id, setState, setError, reload, follow: () => cbs.current.onFollow?.() };
  const selectVariant = (m: Message, index: number) => import("./treeOps").then((o) => o.selectVariant(treeCtx, m, index));
  const continueReply = (m: Message) => import("./treeOps").then((o) => o.continueReply(treeCtx, m));
  const rerun = (m: Message, content: string) => import("./treeOps").then((o) => o.rerun(treeCtx, m, content));
  const branch = (m: Message) => import("./treeOps").then((o) => o.branch(treeCtx, m));

  /** True when the edit was saved. */
  async function saveEdit(m: Message, content: string): Promise<boolean> {
    try {
      const updated = await ep.editMessage(app, id, m.id, content);
      setState((s) => mergeMessages(s, [updated]));
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }

  async function remove(m: Message) {
    if (!confirm(tr("chat.confirmDelete"))) return;
    try {
      await ep.deleteMessage(app, id, m.id);
      setState((s) => applyEvent(s, { v: 1, type: "message.deleted", conversation_id: id, message_id: m.id }));
    } catch (e) {
      setError(e);
    }
  }

  const discard = (clientId: string) => setState((s) => removePending(s, clientId));
  const typingPeople = useMemo(() => Object.entries(typing).map(([id, t]) => ({ id: Number(id), username: t.name })), [typing]);

  return {
    state, loading, error, setError, online, limit, job, typingPeople,
    reload, loadOlder, loadNewer, toLatest, deliver, send, stop, regenerate, saveEdit, remove, discard, selectVariant, continueReply, rerun, branch,
  };
}

export type ConversationModel = ReturnType<typeof useConversation>;
