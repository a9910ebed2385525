// The state of one open conversation: stored messages (deduplicated by id, in id order), AI
// replies streaming in (by job), optimistic sends (by client_id), deletions. Pure functions, so
// the order in which REST pages and WebSocket events arrive cannot duplicate or lose text.

import type { EventPayload } from "./protocol";
import type { Message } from "./types";

export interface Draft {
  jobId: string;
  text: string;
  attempt: number;
  model: string | null;
  characterId: number | null;
  /** The beginning was not seen (joined mid-stream): the text is a tail. */
  partial: boolean;
  failed: string | null;
}

export interface PendingSend {
  clientId: string;
  content: string;
  createdAt: string;
  error: string | null;
}

export interface ChatState {
  messages: Message[];
  deleted: Record<number, true>;
  drafts: Record<string, Draft>;
  pending: PendingSend[];
  hasMore: boolean;
  /** Reading a window of older history (opened at a search hit): the id of its newest message,
   * past which more are still to be loaded; `null` when the window reaches the live end. Live
   * messages beyond it are held but not shown until the window reaches them. */
  newerFrom: number | null;
}

export const emptyChat: ChatState = { messages: [], deleted: {}, drafts: {}, pending: [], hasMore: false, newerFrom: null };

function newer(a: Message, b: Message): Message {
  // `b` arrives; keep `a` if it is known to be the later version.
  if (a.status !== "streaming" && b.status === "streaming") return a;
  if (a.edited_at && b.edited_at && b.edited_at < a.edited_at) return a;
  if (a.edited_at && !b.edited_at && a.status === b.status) return a;
  return b;
}

function upsert(state: ChatState, m: Message): ChatState {
  if (state.deleted[m.id]) return state;
  if (m.deleted_at) return remove(state, m.id);
  const list = state.messages;
  let next: Message[];
  const at = list.findIndex((x) => x.id === m.id);
  if (at >= 0) {
    const chosen = newer(list[at], m);
    if (chosen === list[at]) return dropPending(state, m.client_id);
    next = list.slice();
    // Events (a completed reply, an edit) do not say where the message sits in the tree: the
    // held position among its siblings stays.
    next[at] = chosen.fork === undefined && list[at].fork ? { ...chosen, fork: list[at].fork } : chosen;
  } else {
    next = list.slice();
    let i = next.length;
    while (i > 0 && next[i - 1].id > m.id) i--;
    next.splice(i, 0, m);
  }
  let drafts = state.drafts;
  if (m.job_id && m.status !== "streaming" && drafts[m.job_id]) {
    drafts = { ...drafts };
    delete drafts[m.job_id];
  }
  return dropPending({ ...state, messages: next, drafts }, m.client_id);
}

function dropPending(state: ChatState, clientId: string | null | undefined): ChatState {
  if (!clientId || !state.pending.some((p) => p.clientId === clientId)) return state;
  return { ...state, pending: state.pending.filter((p) => p.clientId !== clientId) };
}

function remove(state: ChatState, id: number): ChatState {
  const messages = state.messages.filter((m) => m.id !== id);
  return { ...state, messages, deleted: { ...state.deleted, [id]: true } };
}

/** Merges a page of history (any order, overlapping what is held). */
export function mergeMessages(state: ChatState, items: Message[], hasMore?: boolean): ChatState {
  let s = state;
  for (const m of items) s = upsert(s, m);
  if (hasMore !== undefined && hasMore !== s.hasMore) s = { ...s, hasMore };
  return s;
}

/** Replaces the held history with a fresh load, keeping what streams and what is being sent. */
export function resetMessages(state: ChatState, items: Message[], hasMore: boolean): ChatState {
  // A window in older history would leave a gap before the latest page: start afresh.
  if (state.newerFrom !== null) state = { ...state, messages: [], newerFrom: null };
  const ids = items.map((m) => m.id);
  const oldest = ids.length ? Math.min(...ids) : Infinity;
  const newest = ids.length ? Math.max(...ids) : -Infinity;
  // Older pages already loaded stay; anything newer than the page arrived live after the page
  // was read, so it stays too. Within the page's range, what the page lacks was deleted; what it
  // has is merged (a row held in a later state than the page's wins).
  const present = new Set(ids);
  const kept = state.messages.filter((m) => m.id < oldest || m.id > newest || present.has(m.id));
  const olderKept = kept.some((m) => m.id < oldest);
  return mergeMessages({ ...state, messages: kept, hasMore: olderKept ? state.hasMore : hasMore }, items);
}

/** The active path changed (another variant or branch): the fresh latest page replaces what is
 * held, since messages of the old path must go; what is being sent stays. */
export function replacePath(state: ChatState, items: Message[], hasMore: boolean): ChatState {
  const ids = new Set(items.map((m) => m.id));
  const drafts: Record<string, Draft> = {};
  // A reply streaming before its row is known stays; one of a message left off the path goes.
  for (const [k, d] of Object.entries(state.drafts)) if (!state.messages.some((m) => m.job_id === k && !ids.has(m.id))) drafts[k] = d;
  return mergeMessages({ ...state, messages: [], deleted: {}, drafts, hasMore, newerFrom: null }, items, hasMore);
}

/** Opens the history around one message: the page that ends with it and the page after it. */
export function resetAround(state: ChatState, older: Message[], olderHasMore: boolean, newer: Message[], newerHasMore: boolean): ChatState {
  const s = mergeMessages({ ...state, messages: [], deleted: {}, hasMore: olderHasMore, newerFrom: null }, [...older, ...newer]);
  const last = s.messages.length ? s.messages[s.messages.length - 1].id : null;
  return { ...s, hasMore: olderHasMore, newerFrom: newerHasMore ? last : null };
}

/** Adds the page after the window's newest message; the window reaches the live end when the
 * page is the last. */
export function mergeNewer(state: ChatState, items: Message[], hasMore: boolean): ChatState {
  const s = mergeMessages(state, items);
  if (!hasMore) return { ...s, newerFrom: null };
  return { ...s, newerFrom: Math.max(state.newerFrom ?? 0, ...items.map((m) => m.id)) };
}

export function applyEvent(state: ChatState, ev: EventPayload): ChatState {
  switch (ev.type) {
    case "message.created":
    case "message.edited":
      return upsert(state, ev.message);
    case "message.deleted":
      return remove(state, ev.message_id);
    case "generation.started": {
      const d = state.drafts[ev.job_id];
      if (d && d.attempt >= ev.attempt) return state;
      return {
        ...state,
        drafts: {
          ...state.drafts,
          [ev.job_id]: { jobId: ev.job_id, text: "", attempt: ev.attempt, model: ev.model, characterId: ev.character_id, partial: false, failed: null },
        },
      };
    }
    case "delta": {
      if (state.messages.some((m) => m.job_id === ev.job_id && m.status !== "streaming")) return state;
      const d = state.drafts[ev.job_id];
      let next: Draft;
      if (!d) {
        next = { jobId: ev.job_id, text: ev.text, attempt: ev.attempt, model: null, characterId: null, partial: true, failed: null };
      } else if (ev.attempt > d.attempt) {
        // A retry after a lost worker: what was held belongs to the abandoned attempt.
        next = { ...d, text: ev.text, attempt: ev.attempt, partial: false, failed: null };
      } else if (ev.attempt < d.attempt) {
        return state;
      } else {
        next = { ...d, text: d.text + ev.text };
      }
      return { ...state, drafts: { ...state.drafts, [ev.job_id]: next } };
    }
    case "message.completed": {
      const s = upsert(state, ev.message);
      if (!s.drafts[ev.job_id]) return s;
      const drafts = { ...s.drafts };
      delete drafts[ev.job_id];
      return { ...s, drafts };
    }
    case "message.failed": {
      const d = state.drafts[ev.job_id] ?? {
        jobId: ev.job_id, text: "", attempt: 1, model: null, characterId: null, partial: false, failed: null,
      };
      const messages = state.messages.map((m) =>
        m.job_id === ev.job_id && m.status === "streaming" ? { ...m, status: "failed" as const } : m,
      );
      return { ...state, messages, drafts: { ...state.drafts, [ev.job_id]: { ...d, failed: ev.reason } } };
    }
    default:
      return state;
  }
}

export function addPending(state: ChatState, clientId: string, content: string): ChatState {
  if (state.pending.some((p) => p.clientId === clientId)) return state;
  return { ...state, pending: [...state.pending, { clientId, content, createdAt: new Date().toISOString(), error: null }] };
}

export function failPending(state: ChatState, clientId: string, error: string): ChatState {
  return { ...state, pending: state.pending.map((p) => (p.clientId === clientId ? { ...p, error } : p)) };
}

export function removePending(state: ChatState, clientId: string): ChatState {
  return dropPending(state, clientId);
}

export type DisplayItem =
  | { kind: "message"; key: string; message: Message; draft: Draft | null }
  | { kind: "draft"; key: string; draft: Draft }
  | { kind: "pending"; key: string; pending: PendingSend };

/** What to show, in order: stored messages (streaming ones with their live text), replies
 * streaming before their row is known, then sends in flight. */
export function displayItems(state: ChatState): DisplayItem[] {
  const out: DisplayItem[] = [];
  const shownJobs = new Set<string>();
  const window = state.newerFrom;
  for (const m of state.messages) {
    if (window !== null && m.id > window) break;
    const draft = m.job_id ? state.drafts[m.job_id] ?? null : null;
    if (m.job_id && draft) shownJobs.add(m.job_id);
    out.push({ kind: "message", key: `m${m.id}`, message: m, draft: m.status === "streaming" || draft?.failed ? draft : null });
  }
  for (const d of Object.values(state.drafts)) {
    if (window === null && !shownJobs.has(d.jobId)) out.push({ kind: "draft", key: `d${d.jobId}`, draft: d });
  }
  for (const p of state.pending) out.push({ kind: "pending", key: `p${p.clientId}`, pending: p });
  return out;
}

/** The job of the reply being generated now, if any. */
export function activeJob(state: ChatState): string | null {
  for (const d of Object.values(state.drafts)) if (!d.failed) return d.jobId;
  for (let i = state.messages.length - 1; i >= 0 && i >= state.messages.length - 5; i--) {
    const m = state.messages[i];
    if (m.status === "streaming" && m.job_id && !state.drafts[m.job_id]?.failed) return m.job_id;
  }
  return null;
}

/** Unicode characters as the server counts them (scalar values, not UTF-16 units). */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** The limit a 422 names: "content: must be at most 2000 characters (got 2050)". */
export function limitFromError(message: string): number | null {
  const m = /at most (\d+) characters/.exec(message);
  return m ? Number(m[1]) : null;
}
