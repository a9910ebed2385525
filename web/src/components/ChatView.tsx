// One conversation: history, live events (streamed AI replies, edits, typing, presence), the
// composer with the length counter, and the AI controls (stop, regenerate).
import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "../i18n";
import { useApp } from "../appContext";
import { locale, t as tr } from "../i18n";
import { dayLabel, layoutMessages } from "../lib/messageLayout";
import { isSendKey } from "../lib/keys";
import { ApiError, errorText } from "../lib/api";
import type { ApiClient } from "../lib/client";
import * as ep from "../lib/endpoints";
import {
  activeJob, addPending, applyEvent, charCount, displayItems, emptyChat, failPending, limitFromError, mergeMessages,
  removePending, resetMessages, type ChatState, type DisplayItem,
} from "../lib/chatState";
import { GatewayError } from "../lib/protocol";
import type { Character, Conversation, Message } from "../lib/types";
import { Avatar, ErrorBox, Icon, Spinner, clock, randomId } from "../ui";

const characterCache = new Map<number, Promise<Character | null>>();

export function loadCharacter(client: ApiClient, id: number): Promise<Character | null> {
  let p = characterCache.get(id);
  if (!p) {
    p = ep.character(client, id).catch(() => {
      // A failure (an ended session, a network blip) is not remembered: the next view asks again.
      characterCache.delete(id);
      return null;
    });
    characterCache.set(id, p);
  }
  return p;
}

function useCharacters(client: ApiClient, ids: number[], epoch: number): Record<number, Character> {
  const [chars, setChars] = useState<Record<number, Character>>({});
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    let live = true;
    for (const id of key ? key.split(",").map(Number) : []) {
      void loadCharacter(client, id).then((c) => live && c && setChars((m) => (m[id] ? m : { ...m, [id]: c })));
    }
    return () => {
      live = false;
    };
  }, [client, key, epoch]);
  return chars;
}

const LIMIT_KEY = "chat.message_max_chars";

function storedLimit(): number {
  const n = Number(localStorage.getItem(LIMIT_KEY));
  return Number.isFinite(n) && n > 0 ? n : 2000;
}

function isValidation(e: unknown): string | null {
  if (e instanceof ApiError && e.status === 422) return e.field("content") ?? e.detail;
  if (e instanceof GatewayError && e.code === "validation") return e.message;
  return null;
}

export interface ChatViewProps {
  conversation: Conversation;
  /** Extra buttons in the header (members, settings). */
  actions?: ReactNode;
  /** Shown left of the title (back button on phones). */
  leading?: ReactNode;
  side?: ReactNode;
  onActivity?(m: Message): void;
  onPresence?(online: Set<number>): void;
  onMembersChanged?(): void;
}

export function ChatView({ conversation, actions, leading, side, onActivity, onPresence, onMembersChanged }: ChatViewProps) {
  const app = useApp();
  const { api, client, gw, user, status, sessionEpoch } = app;
  const { t } = useTranslation();
  const id = conversation.id;
  const [state, setState] = useState<ChatState>(emptyChat);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [typing, setTyping] = useState<Record<number, { name: string; until: number }>>({});
  const [online, setOnline] = useState<Set<number>>(new Set());
  const [limit, setLimit] = useState(storedLimit);
  const [editing, setEditing] = useState<number | null>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const loadSeq = useRef(0);
  const isAi = conversation.kind === "ai_chat";
  const cbs = useRef({ onActivity, onPresence, onMembersChanged });
  cbs.current = { onActivity, onPresence, onMembersChanged };

  const reload = useCallback(async () => {
    const seq = ++loadSeq.current;
    try {
      const page = await ep.messages(app, id, { limit: 50 });
      if (seq !== loadSeq.current) return;
      setState((s) => resetMessages(s, page.items, page.has_more));
      setError(null);
    } catch (e) {
      if (seq === loadSeq.current) setError(e);
    } finally {
      if (seq === loadSeq.current) setLoading(false);
    }
  }, [api, id]);

  // History over REST, then live events; a reset from the gateway reloads.
  useEffect(() => {
    setState(emptyChat);
    setLoading(true);
    setError(null);
    setTyping({});
    setOnline(new Set());
    stick.current = true;
    void reload();
    const off = gw.subscribe(id, {
      onReset: () => void reload(),
      onEvent: (ev) => {
        if (ev.type === "typing") {
          if (ev.user_id !== user.id) setTyping((t) => ({ ...t, [ev.user_id]: { name: ev.username, until: Date.now() + 4000 } }));
          return;
        }
        if (ev.type.startsWith("member.")) {
          cbs.current.onMembersChanged?.();
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
  }, [id, gw, reload, user.id]);

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

  const items = useMemo(() => displayItems(state), [state]);
  const laidOut = useMemo(() => layoutMessages(items, user.id), [items, user.id]);
  const job = activeJob(state);

  // Keep the view at the bottom while new text arrives, unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [items]);

  const charIds = useMemo(() => {
    const ids = state.messages.map((m) => m.character_id).filter((x): x is number => !!x);
    if (conversation.character_id) ids.push(conversation.character_id);
    for (const d of Object.values(state.drafts)) if (d.characterId) ids.push(d.characterId);
    return ids;
  }, [state.messages, state.drafts, conversation.character_id]);
  const characters = useCharacters(client, charIds, sessionEpoch);

  async function loadOlder() {
    const oldest = state.messages[0]?.id;
    if (!oldest) return;
    const el = listRef.current;
    const before = el ? el.scrollHeight - el.scrollTop : 0;
    try {
      const page = await ep.messages(app, id, { before: oldest, limit: 50 });
      stick.current = false;
      setState((s) => mergeMessages(s, page.items, page.has_more));
      requestAnimationFrame(() => {
        if (el) el.scrollTop = el.scrollHeight - before;
      });
    } catch (e) {
      setError(e);
    }
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
      stick.current = true;
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
    stick.current = true;
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
    } catch (e) {
      setError(e);
    }
  }

  async function saveEdit(m: Message, content: string) {
    try {
      const updated = await ep.editMessage(app, id, m.id, content);
      setState((s) => mergeMessages(s, [updated]));
      setEditing(null);
    } catch (e) {
      setError(e);
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

  const lastVisible = state.messages[state.messages.length - 1];
  const canRegenerate = isAi && !job && lastVisible?.role === "assistant" && lastVisible.status !== "streaming";
  const mainChar = conversation.character_id ? characters[conversation.character_id] : undefined;
  const typingNames = Object.values(typing).map((t) => t.name);

  return (
    <section className="chat" aria-label={t("chat.region", { title: conversation.title })}>
      <header className="chat-head">
        {leading}
        {isAi ? <Avatar name={mainChar?.name ?? conversation.title} url={mainChar?.avatar_url} /> : <Avatar name={conversation.title} />}
        <div className="grow">
          <h2 className="chat-title">{conversation.kind === "channel" ? `# ${conversation.title}` : conversation.title}</h2>
          <div className="muted small">
            {isAi
              ? mainChar?.description?.slice(0, 90) || t("chat.aiCharacter")
              : conversation.description || (conversation.kind === "direct" ? t("chats.directMessage") : conversation.kind === "group" ? t("chat.groupRoom") : t("chat.channel"))}
            {!isAi && online.size > 0 && ` · ${t("chat.online", { count: online.size })}`}
          </div>
        </div>
        {isAi && job && (
          <button type="button" className="danger" onClick={stop} title={t("chat.stopTitle")}>
            <Icon name="stop" size={16} /> {t("chat.stop")}
          </button>
        )}
        {isAi && (
          <button type="button" onClick={regenerate} disabled={!canRegenerate} title={t("chat.regenerateTitle")} aria-label={t("chat.regenerate")}>
            <Icon name="refresh" size={16} /> <span className="hide-sm">{t("chat.regenerate")}</span>
          </button>
        )}
        {actions}
      </header>
      {status !== "open" && status !== "idle" && (
        <div className="banner" role="status">
          {status === "unauthorized" ? t("chat.pausedBanner") : t("chat.lostBanner")}
        </div>
      )}
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <div className="chat-body">
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
                me={user.id}
                characters={characters}
                editing={item.kind === "message" && editing === item.message.id}
                onEdit={(m) => setEditing(m.id)}
                onCancelEdit={() => setEditing(null)}
                onSaveEdit={saveEdit}
                onDelete={remove}
                onRetry={(clientId, content) => void deliver(clientId, content)}
                onDiscard={(clientId) => setState((s) => removePending(s, clientId))}
                online={online}
                limit={limit}
              />
            </Fragment>
          ))}
        </div>
        {side}
      </div>
      <div className="typing" aria-live="polite">
        {typingNames.length ? t(typingNames.length > 1 ? "chat.typingMany" : "chat.typingOne", { names: typingNames.join(", ") }) : "\u00a0"}
      </div>
      <Composer key={id} conversationId={id} limit={limit} onSend={send} onTyping={() => gw.typing(id)} placeholder={isAi ? t("chat.placeholderAi", { name: mainChar?.name ?? conversation.title }) : t("chat.placeholder")} />
    </section>
  );
}

/** Above the first message of each day: "Today", "Yesterday" or the date, in the user's language. */
function DaySeparator({ day }: { day: Date }) {
  const { t } = useTranslation();
  const iso = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
  return (
    <div className="day-separator">
      <time dateTime={iso}>{dayLabel(day, new Date(), locale(), { today: t("time.today"), yesterday: t("time.yesterday") })}</time>
    </div>
  );
}

interface BubbleProps {
  item: DisplayItem;
  /** Continues the previous message's author group: no name or avatar of its own. */
  grouped: boolean;
  me: number;
  characters: Record<number, Character>;
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

function Bubble({ item, grouped, me, characters, editing, online, limit, onEdit, onCancelEdit, onSaveEdit, onDelete, onRetry, onDiscard }: BubbleProps) {
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
    const c = d.characterId ? characters[d.characterId] : undefined;
    return <AiBubble grouped={grouped} name={c?.name ?? "AI"} avatar={c?.avatar_url} text={d.text} streaming={!d.failed} partial={d.partial} failed={d.failed} />;
  }
  const m = item.message;
  if (m.role === "assistant") {
    const c = m.character_id ? characters[m.character_id] : undefined;
    const text = item.draft ? item.draft.text : m.content;
    const failed = item.draft?.failed ?? (m.status === "failed" ? t("chat.failed") : null);
    return (
      <AiBubble
        grouped={grouped}
        name={c?.name ?? "AI"}
        avatar={c?.avatar_url}
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
  return (
    <div
      className={`msg${mine ? " mine" : ""}${grouped ? " grouped" : ""}${actionsOpen ? " show-actions" : ""}`}
      data-message-id={m.id}
      onClick={mine && !editing ? (e) => !(e.target as HTMLElement).closest("button, a") && setActionsOpen((o) => !o) : undefined}
    >
      {!mine && (grouped ? <span className="avatar-gap" /> : <Avatar name={m.author_username ?? "?"} size={30} online={m.author_id ? online.has(m.author_id) : undefined} />)}
      <div className="bubble">
        {!mine && !grouped && <div className="author">{m.author_username}</div>}
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

function AiBubble(props: { grouped?: boolean; name: string; avatar?: string | null; text: string; streaming: boolean; partial?: boolean; failed?: string | null; cancelled?: boolean; time?: string; model?: string | null }) {
  const { grouped, name, avatar, text, streaming, partial, failed, cancelled, time, model } = props;
  const { t } = useTranslation();
  return (
    <div className={`msg ai${grouped ? " grouped" : ""}${streaming ? " streaming" : ""}`} data-streaming={streaming ? "true" : undefined}>
      {grouped ? <span className="avatar-gap" /> : <Avatar name={name} url={avatar} size={30} />}
      <div className="bubble">
        {!grouped && <div className="author">{name}</div>}
        <MessageText text={partial ? `…${text}` : text}>
          {streaming && <span className="caret" aria-hidden="true" />}
          {streaming && !text && <span className="muted">{t("chat.thinking")}</span>}
        </MessageText>
        <div className="meta">
          {time && <time dateTime={time}>{clock(time)}</time>}
          {model && <span className="hide-sm"> · {model}</span>}
          {cancelled && <span> · {t("chat.stopped")}</span>}
          {failed && <span className="err-text"> · {failed}</span>}
        </div>
      </div>
    </div>
  );
}

function Counter({ value, limit }: { value: string; limit: number }) {
  const n = charCount(value);
  const { t } = useTranslation();
  return (
    <span className={`counter${n > limit ? " over" : n > limit * 0.9 ? " near" : ""}`} aria-live="polite" title={t("chat.limitTitle")}>
      {n} / {limit}
    </span>
  );
}

function EditBox({ initial, limit, onCancel, onSave }: { initial: string; limit: number; onCancel(): void; onSave(t: string): void }) {
  const [text, setText] = useState(initial);
  const { t } = useTranslation();
  const over = charCount(text) > limit;
  return (
    <form
      className="edit-box"
      onSubmit={(e) => {
        e.preventDefault();
        if (!over && text.trim()) onSave(text);
      }}
    >
      <label className="sr-only" htmlFor="edit-message">
        {t("chat.editMessage")}
      </label>
      <textarea id="edit-message" value={text} onChange={(e) => setText(e.target.value)} autoFocus rows={3} onKeyDown={(e) => e.key === "Escape" && onCancel()} />
      <div className="row">
        <Counter value={text} limit={limit} />
        <span className="grow" />
        <button type="button" className="ghost small" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" className="primary small" disabled={over || !text.trim()}>
          {t("common.save")}
        </button>
      </div>
    </form>
  );
}

function Composer({ conversationId, limit, onSend, onTyping, placeholder }: { conversationId: number; limit: number; onSend(t: string): Promise<void>; onTyping(): void; placeholder: string }) {
  const key = `chat.draft.${conversationId}`;
  const [text, setText] = useState(() => localStorage.getItem(key) ?? "");
  const ref = useRef<HTMLTextAreaElement>(null);
  const { t } = useTranslation();
  const n = charCount(text);
  const over = n > limit;

  useEffect(() => {
    // Drafts survive reloads and session expiry.
    if (text) localStorage.setItem(key, text);
    else localStorage.removeItem(key);
  }, [key, text]);

  function submit() {
    const content = text;
    if (!content.trim() || over) return;
    setText("");
    void onSend(content);
    ref.current?.focus();
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label htmlFor={`composer-${conversationId}`} className="sr-only">
        {t("chat.message")}
      </label>
      <textarea
        id={`composer-${conversationId}`}
        ref={ref}
        value={text}
        rows={1}
        placeholder={placeholder}
        aria-describedby={`counter-${conversationId}`}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value) onTyping();
        }}
        onKeyDown={(e) => {
          if (isSendKey({ key: e.key, shiftKey: e.shiftKey, isComposing: e.nativeEvent.isComposing, keyCode: e.nativeEvent.keyCode })) {
            e.preventDefault();
            submit();
          }
        }}
      />
      <div className="composer-side" id={`counter-${conversationId}`}>
        <Counter value={text} limit={limit} />
        <button type="submit" className="primary" disabled={!text.trim() || over} aria-label={t("chat.send")}>
          <Icon name="send" size={18} />
        </button>
      </div>
    </form>
  );
}

// Markdown is rendered by a chunk of its own (marked + DOMPurify), fetched after the first
// screen; until it arrives the text shows as typed.
let markdown: ((text: string) => string) | null = null;
let markdownLoad: Promise<void> | null = null;
function loadMarkdown(): Promise<void> {
  markdownLoad ??= import("../lib/markdown").then((m) => {
    markdown = m.renderMarkdown;
  });
  return markdownLoad;
}

function MessageText({ text, children }: { text: string; children?: ReactNode }) {
  const [, setReady] = useState(!!markdown);
  useEffect(() => {
    if (!markdown) void loadMarkdown().then(() => setReady(true));
  }, []);
  return (
    <div className="text">
      {markdown ? <div className="md" dangerouslySetInnerHTML={{ __html: markdown(text) }} /> : <div className="md plain">{text}</div>}
      {children}
    </div>
  );
}
