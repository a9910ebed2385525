// Conversations: the list (AI chats, DMs, groups) with last message and unread counts, kept
// live over the socket, and the open conversation.
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "../i18n";
import { useApp, useLoad } from "../appContext";
import * as ep from "../lib/endpoints";
import { t as tr, withScreenMessages } from "../i18n";
import { ChatView } from "../components/chat/ChatView";
import { navigate } from "../lib/router";
import { queryClient } from "../lib/queryClient";
import type { Conversation, Member, Message } from "../lib/types";
import { Avatar, Empty, ErrorBox, Icon, Link, Spinner, Tabs, timeAgo } from "../ui";

type Filter = "all" | "ai_chat" | "direct" | "group" | "archived";

// Opened from a conversation's header only: kept out of the first download (issue 21's budget).
const MembersPanel = lazy(() => withScreenMessages(import("../components/Members")).then((m) => ({ default: m.MembersPanel })));
const NewGroup = lazy(() => import("../components/chats/NewGroup").then((m) => ({ default: m.NewGroup })));
const ConversationSettings = lazy(() => withScreenMessages(import("../components/chats/ConversationSettings")).then((m) => ({ default: m.ConversationSettings })));
// Shown while a search is typed: its own small chunk.
const SearchResults = lazy(() => import("../components/chats/SearchResults").then((m) => ({ default: m.SearchResults })));
const PublicRooms = lazy(() => import("../components/chats/PublicRooms").then((m) => ({ default: m.PublicRooms })));

function preview(m: Message | null | undefined, me: number): string {
  if (!m) return tr("chats.noMessages");
  if (m.deleted_at) return tr("chats.deleted");
  const who = m.role === "assistant" ? "" : m.author_id === me ? tr("chats.you") : m.author_username ? `${m.author_username}: ` : "";
  return who + (m.content || (m.status === "streaming" ? tr("chats.typingPreview") : ""));
}

/** Searching my messages across every conversation I am in (`GET /messages/search`). */
export interface MessageSearch {
  query: string;
  setQuery: (q: string) => void;
  /** A search is shown (at least two characters typed). */
  active: boolean;
  results: Message[] | null;
  error: unknown;
}

function useMessageSearch(): MessageSearch {
  const { api, client } = useApp();
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<Message[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const q = query.trim();
  const active = q.length >= 2;
  useEffect(() => {
    // The previous answer stays on screen while the next one loads (no flicker per keystroke).
    setError(null);
    if (!active) {
      setResults(null);
      return;
    }
    let stale = false;
    // Debounced: one request once typing pauses, and answers to older queries are dropped.
    const t = setTimeout(() => {
      ep.searchMessages({ api, client }, q)
        .then((page) => !stale && setResults(page.items))
        .catch((e) => !stale && setError(e));
    }, 300);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [api, client, q, active]);
  return { query, setQuery, active, results, error };
}

/** Moves the conversation at `at` up for new activity: to the top of the unpinned ones (pinned
 * conversations keep the order they were pinned in, and stay above). */
function moveUp(cs: Conversation[], at: number, updated: Conversation): Conversation[] {
  const rest = [...cs.slice(0, at), ...cs.slice(at + 1)];
  if (updated.pinned) return [...cs.slice(0, at), updated, ...cs.slice(at + 1)];
  const pins = rest.filter((c) => c.pinned).length;
  return [...rest.slice(0, pins), updated, ...rest.slice(pins)];
}

export function ChatsPage({ id, focus }: { id: number | null; focus?: number | null }) {
  const app = useApp();
  const { api, gw, user, sessionEpoch } = app;
  const { t } = useTranslation();
  const [filter, setFilter] = useState<Filter>("all");
  const [creating, setCreating] = useState(false);
  const [browsing, setBrowsing] = useState(false);
  const [showMembers, setShowMembers] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [membersTick, setMembersTick] = useState(0);
  const [online, setOnline] = useState<Set<number>>(new Set());
  // Polled as a fallback for whatever the socket does not tell (new conversations while offline).
  // The archive is its own list, read when its tab is open.
  const archive = filter === "archived";
  const list = useLoad(...ep.conversationList(app, archive), { refetchInterval: 30_000, staleTime: 0 });
  const [convs, setConvs] = useState<Conversation[]>([]);

  useEffect(() => {
    if (list.data) setConvs(list.data.items.filter((c) => c.kind !== "channel"));
  }, [list.data]);

  // A conversation opened that the list does not have yet (just started elsewhere): ask again.
  const listed = !!list.data?.items.some((c) => c.id === id);
  const reloadList = list.reload;
  useEffect(() => {
    if (id && list.data && !listed) reloadList();
  }, [id, listed]); // eslint-disable-line react-hooks/exhaustive-deps

  // Live last message and unread counts for the listed conversations.
  // Keyed by the set of ids (not their order), so a conversation moving up does not resubscribe.
  const idKey = useMemo(() => convs.slice(0, 100).map((c) => c.id).sort((x, y) => x - y).join(","), [convs]);
  const openId = useRef(id);
  openId.current = id;
  useEffect(() => {
    const ids = idKey ? idKey.split(",").map(Number) : [];
    const offs = ids.map((cid) =>
      gw.subscribe(cid, {
        onEvent: (ev) => {
          if (ev.type !== "message.created" && ev.type !== "message.completed") return;
          const m = ev.message;
          setConvs((cs) => {
            const at = cs.findIndex((c) => c.id === cid);
            if (at < 0) return cs;
            const c = cs[at];
            const unread = cid === openId.current || m.author_id === user.id ? c.unread_count : c.unread_count + 1;
            const updated = { ...c, last_message: m, last_message_at: m.created_at, unread_count: unread };
            return moveUp(cs, at, updated);
          });
        },
      }),
    );
    return () => offs.forEach((off) => off());
  }, [idKey, gw, user.id]);

  useEffect(() => {
    if (id) setConvs((cs) => cs.map((c) => (c.id === id && c.unread_count ? { ...c, unread_count: 0 } : c)));
  }, [id, convs.length]);

  // Direct conversations have no title: name them after the other person.
  const [dmNames, setDmNames] = useState<Record<number, string>>({});
  useEffect(() => {
    for (const c of convs) {
      if (c.kind !== "direct" || c.title || dmNames[c.id] !== undefined) continue;
      setDmNames((n) => ({ ...n, [c.id]: "" }));
      api
        .get<Member[]>(`/conversations/${c.id}/members`)
        .then((ms) => {
          const other = ms.find((m) => m.user_id !== user.id) ?? ms[0];
          setDmNames((n) => ({ ...n, [c.id]: other ? other.display_name || other.username : "" }));
        })
        .catch(() => setDmNames((n) => {
          const { [c.id]: _, ...rest } = n;
          return rest;
        }));
    }
  }, [convs, api, user.id, sessionEpoch]); // eslint-disable-line react-hooks/exhaustive-deps
  const titled = (c: Conversation): Conversation => (c.title ? c : { ...c, title: dmNames[c.id] || t("chats.directMessage") });

  const open = convs.find((c) => c.id === id) ?? null;
  const [fetched, setFetched] = useState<Conversation | null>(null);
  const [openError, setOpenError] = useState<unknown>(null);
  useEffect(() => {
    setFetched(null);
    setOpenError(null);
    setShowMembers(false);
    if (!id || open) return;
    ep.getConversation(app, id).then(setFetched).catch(setOpenError);
  }, [id, sessionEpoch]); // eslint-disable-line react-hooks/exhaustive-deps
  const found = open ?? fetched;
  const current = found ? titled(found) : null;

  const shown = convs.filter((c) => filter === "all" || filter === "archived" || c.kind === filter);
  const onActivity = useCallback(() => undefined, []);
  const search = useMessageSearch();
  const searchTitle = (cid: number) => {
    const c = convs.find((x) => x.id === cid);
    return c ? titled(c).title : t("chats.conversationN", { id: cid });
  };

  return (
    <div className={`split${id ? " has-detail" : ""}`}>
      <aside className="list-pane" aria-label={t("chats.conversations")}>
        <div className="pane-head">
          <h1>{t("chats.title")}</h1>
          <div className="row">
            <button type="button" className="small" onClick={() => setBrowsing(true)}>
              {t("chats.rooms")}
            </button>
            <button type="button" className="primary small" onClick={() => setCreating(true)}>
              <Icon name="plus" size={14} /> {t("chats.group")}
            </button>
          </div>
        </div>
        <div className="search-box">
          <input
            type="search"
            aria-label={t("chats.search")}
            placeholder={t("chats.search")}
            value={search.query}
            maxLength={200}
            onChange={(e) => search.setQuery(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && search.setQuery("")}
          />
        </div>
        {search.active ? (
          <Suspense fallback={<Spinner />}>
            <SearchResults search={search} title={searchTitle} openId={id} />
          </Suspense>
        ) : (
          <>
        <Tabs
          label={t("chats.filter")}
          value={filter}
          onChange={setFilter}
          tabs={[
            ["all", t("chats.all")],
            ["ai_chat", t("chats.ai")],
            ["direct", t("chats.dms")],
            ["group", t("chats.groups")],
            ["archived", t("chats.archived")],
          ]}
        />
        <ErrorBox error={list.error} />
        {list.loading && !list.data && <Spinner />}
        <ul className="conv-list">
          {shown.map(titled).map((c) => (
            <li key={c.id}>
              <Link to={`/chats/${c.id}`} className={`conv${c.id === id ? " active" : ""}`} aria-current={c.id === id ? "page" : undefined}>
                <Avatar name={c.title} />
                <span className="conv-main">
                  <span className="conv-top">
                    <strong className="ellipsis">
                      {c.pinned && (
                        <span className="pinned" title={t("chats.pinned")} role="img" aria-label={t("chats.pinned")}>
                          <Icon name="pin" size={12} />
                        </span>
                      )}
                      {c.title}
                    </strong>
                    <span className="muted small">{timeAgo(c.last_message_at ?? c.created_at)}</span>
                  </span>
                  <span className="conv-bottom">
                    <span className="muted small ellipsis">
                      <span className={`kind kind-${c.kind}`}>{c.kind === "ai_chat" ? t("chats.kindAi") : c.kind === "direct" ? t("chats.kindDm") : t("chats.kindGroup")}</span> {preview(c.last_message, user.id)}
                    </span>
                    {c.unread_count > 0 && (
                      <span className="badge" aria-label={t("chats.unread", { count: c.unread_count })}>
                        {c.unread_count}
                      </span>
                    )}
                  </span>
                </span>
              </Link>
            </li>
          ))}
        </ul>
        {list.data && !shown.length && (
          <Empty title={t("chats.emptyTitle")}>
            <p>
              {t("chats.emptyBefore")}
              <Link to="/characters">{t("nav.characters")}</Link>
              {t("chats.emptyMiddle")}
              <Link to="/people">{t("nav.people")}</Link>
              {t("chats.emptyAfter")}
            </p>
          </Empty>
        )}
          </>
        )}
      </aside>
      <div className="detail-pane">
        {current ? (
          <ChatView
            key={current.id}
            conversation={current}
            focus={focus}
            onActivity={onActivity}
            onPresence={setOnline}
            onMembersChanged={() => setMembersTick((t) => t + 1)}
            leading={
              <button type="button" className="ghost back" onClick={() => navigate("/chats")} aria-label={t("chats.back")}>
                <Icon name="back" />
              </button>
            }
            actions={
              <>
                {(current.kind === "group" || current.kind === "direct") && (
                  <button type="button" onClick={() => setShowMembers((s) => !s)} aria-expanded={showMembers} aria-label={t("chats.members")}>
                    <Icon name="users" size={16} /> <span className="hide-sm">{t("chats.members")}</span>
                  </button>
                )}
                {current.kind !== "channel" && (
                  <button type="button" onClick={() => setSettingsOpen(true)} aria-label={t("chats.settings")} title={t("chats.settings")}>
                    <Icon name="gear" size={16} />
                  </button>
                )}
              </>
            }
            side={
              showMembers ? (
                <Suspense fallback={<Spinner />}>
                  <MembersPanel
                    conversation={current}
                    online={online}
                    tick={membersTick}
                    onClose={() => setShowMembers(false)}
                    onLeft={() => {
                      list.reload();
                      navigate("/chats");
                    }}
                  />
                </Suspense>
              ) : null
            }
          />
        ) : id ? (
          openError ? <ErrorBox error={openError} /> : <Spinner />
        ) : (
          <Empty title={t("chats.pickTitle")}>
            <p className="muted">{t("chats.pickText")}</p>
            <Link to="/characters" className="button primary">
              {t("chats.browse")}
            </Link>
          </Empty>
        )}
      </div>
      {creating && (
        <Suspense fallback={null}>
        <NewGroup
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setConvs((cs) => [c, ...cs]);
            navigate(`/chats/${c.id}`);
          }}
        />
        </Suspense>
      )}
      {settingsOpen && current && (
        <Suspense fallback={null}>
          <ConversationSettings
            conversation={current}
            onClose={() => setSettingsOpen(false)}
            onChanged={(c) => {
              setSettingsOpen(false);
              setConvs((cs) => cs.map((x) => (x.id === c.id ? { ...x, title: c.title } : x)));
              list.reload();
            }}
            onArranged={() => void queryClient.invalidateQueries({ queryKey: ["conversations"] })}
            onDeleted={() => {
              setSettingsOpen(false);
              setConvs((cs) => cs.filter((x) => x.id !== current.id));
              list.reload();
              navigate("/chats");
            }}
          />
        </Suspense>
      )}
      {browsing && (
        <Suspense fallback={null}>
        <PublicRooms
          onClose={() => setBrowsing(false)}
          onJoined={(cid) => {
            setBrowsing(false);
            list.reload();
            navigate(`/chats/${cid}`);
          }}
        />
        </Suspense>
      )}
    </div>
  );
}
