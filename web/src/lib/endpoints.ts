// The reads the screens share, each with its cache key and its typed call: the one place that
// names these URLs (checked against the OpenAPI document) and the keys that WebSocket events and
// mutations invalidate (`["friends"]` covers friends and requests, `["conversations"]` every list
// of conversations).
import type { QueryKey } from "@tanstack/react-query";
import type { Api } from "./api";
import { unwrap, type ApiClient, type Schemas } from "./client";
import type {
  Conversation,
  Member,
  Page,
} from "./types";

/** What a call needs: the typed client, and `api` for binary bodies and admin-stats (no document yet). */
export interface Clients {
  api: Api;
  client: ApiClient;
}

export type Read<T> = [QueryKey, () => Promise<T>];

export const P = "/api/v1";

export const friends = (c: ApiClient): Read<Awaited<ReturnType<typeof getFriends>>> => [["friends"], () => getFriends(c)];
const getFriends = (c: ApiClient) => unwrap(c.GET(`${P}/friends`));

export const friendRequests = (c: ApiClient): Read<Awaited<ReturnType<typeof getRequests>>> => [["friends", "requests"], () => getRequests(c)];
const getRequests = (c: ApiClient) => unwrap(c.GET(`${P}/friends/requests`));

export const blocks = (c: ApiClient): Read<Awaited<ReturnType<typeof getBlocks>>> => [["blocks"], () => getBlocks(c)];
const getBlocks = (c: ApiClient) => unwrap(c.GET(`${P}/blocks`));

export const prompts = (c: ApiClient): Read<Awaited<ReturnType<typeof getPrompts>>> => [["prompts"], () => getPrompts(c)];
const getPrompts = (c: ApiClient) => unwrap(c.GET(`${P}/prompts`));

export const myCharacters = (c: ApiClient): Read<Awaited<ReturnType<typeof getMine>>> => [["characters", "mine"], () => getMine(c)];
const getMine = (c: ApiClient) => unwrap(c.GET(`${P}/characters`, { params: { query: { mine: true, limit: 100 } } }));

export function searchCharacters(c: ApiClient, q: { search: string; tag: string; mine: boolean; limit: number; offset: number }) {
  return unwrap(c.GET(`${P}/characters`, { params: { query: { search: q.search || undefined, tag: q.tag || undefined, mine: q.mine || undefined, limit: q.limit, offset: q.offset } } }));
}

export function character(c: ApiClient, id: number) {
  return unwrap(c.GET(`${P}/characters/{id}`, { params: { path: { id } } }));
}

export function conversation(c: ApiClient, id: number) {
  return unwrap(c.GET(`${P}/conversations/{id}`, { params: { path: { id } } }));
}

export function me(c: ApiClient) {
  return unwrap(c.GET(`${P}/auth/me`));
}

// ---- conversations, members and messages (the chat screens)

// The document says `string` for kind, role and visibility and `object` for `last_message`;
// `Conversation` narrows the generated `ConversationView` (types.ts), hence the casts here.
const conversations = (p: Promise<Schemas["Page_ConversationView"]>) => p as Promise<unknown> as Promise<Page<Conversation>>;
/** The main list (pinned first), or with `archived` the caller's archive. */
export const conversationList = ({ client }: Clients, archived = false): Read<Page<Conversation>> => [
  ["conversations", archived ? "archived" : "main"],
  () => conversations(unwrap(client.GET(`${P}/conversations`, { params: { query: { limit: 100, archived } } }))),
];
export const publicRooms = ({ client }: Clients): Read<Page<Conversation>> => [
  ["conversations", "public"],
  () => conversations(unwrap(client.GET(`${P}/conversations/public`, { params: { query: { limit: 50 } } }))),
];
export const getConversation = ({ client }: Clients, id: number) => conversation(client, id) as Promise<unknown> as Promise<Conversation>;

export type NewConversation =
  | { kind: "ai_chat"; character_id: number }
  | { kind: "direct"; user_id: number }
  | { kind: "group"; title: string; description: string; visibility: string };
export const createConversation = ({ client }: Clients, body: NewConversation) =>
  unwrap(client.POST(`${P}/conversations`, { body })) as Promise<unknown> as Promise<Conversation>;

export const joinRoom = ({ client }: Clients, id: number) => unwrap(client.POST(`${P}/conversations/{id}/join`, { params: { path: { id } } }));

export const members = ({ client }: Clients, id: number, tick: number): Read<Member[]> => [
  ["conversations", id, "members", tick],
  () => unwrap(client.GET(`${P}/conversations/{id}/members`, { params: { path: { id } } })) as Promise<Member[]>,
];
export const addMember = ({ client }: Clients, id: number, user_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/members`, { params: { path: { id } }, body: { user_id } }));
export const setMemberRole = ({ client }: Clients, id: number, user_id: number, role: string) =>
  unwrap(client.PATCH(`${P}/conversations/{id}/members/{user_id}`, { params: { path: { id, user_id } }, body: { role } }));
export const removeMember = ({ client }: Clients, id: number, user_id: number) =>
  unwrap(client.DELETE(`${P}/conversations/{id}/members/{user_id}`, { params: { path: { id, user_id } } }));
export const addRoomCharacter = ({ client }: Clients, id: number, character_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/characters`, { params: { path: { id } }, body: { character_id } }));

export const searchMessages = ({ client }: Clients, q: string) => unwrap(client.GET(`${P}/messages/search`, { params: { query: { q, limit: 30 } } }));
export const messages = ({ client }: Clients, id: number, q: { before?: number; after?: number; limit: number }) =>
  unwrap(client.GET(`${P}/conversations/{id}/messages`, { params: { path: { id }, query: q } }));
export const sendMessage = ({ client }: Clients, id: number, content: string, client_id: string) =>
  unwrap(client.POST(`${P}/conversations/{id}/messages`, { params: { path: { id } }, body: { content, client_id } }));
export const editMessage = ({ client }: Clients, id: number, message_id: number, content: string) =>
  unwrap(client.PATCH(`${P}/conversations/{id}/messages/{message_id}`, { params: { path: { id, message_id } }, body: { content } }));
export const deleteMessage = ({ client }: Clients, id: number, message_id: number) =>
  unwrap(client.DELETE(`${P}/conversations/{id}/messages/{message_id}`, { params: { path: { id, message_id } } }));
export const markRead = ({ client }: Clients, id: number, message_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/read`, { params: { path: { id } }, body: { message_id } }));
export const stopReply = ({ client }: Clients, id: number, job_id: string | null) =>
  unwrap(client.POST(`${P}/conversations/{id}/stop`, { params: { path: { id } }, body: job_id ? { job_id } : {} }));
export const regenerate = ({ client }: Clients, id: number) => unwrap(client.POST(`${P}/conversations/{id}/regenerate`, { params: { path: { id } } }));
/** Makes the `index`-th sibling of a message (a variant of an AI turn, or a branch) the active one. */
export const selectVariant = ({ client }: Clients, id: number, message_id: number, index: number) =>
  unwrap(client.PUT(`${P}/conversations/{id}/messages/{message_id}/active_variant`, { params: { path: { id, message_id } }, body: { index } }));
/** Streams more text onto the end of the last AI reply. */
export const continueReply = ({ client }: Clients, id: number, message_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/messages/{message_id}/continue`, { params: { path: { id, message_id } } }));
/** "Save and rerun": the edited text starts a new branch and a new reply streams. */
export const rerun = ({ client }: Clients, id: number, message_id: number, content: string) =>
  unwrap(client.POST(`${P}/conversations/{id}/messages/{message_id}/rerun`, { params: { path: { id, message_id } }, body: { content } }));
/** A new chat holding the path up to a message. */
export const branch = ({ client }: Clients, id: number, message_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/branch`, { params: { path: { id } }, body: { message_id } }));
