// The reads the screens share, each with its cache key and its typed call: the one place that
// names these URLs (checked against the OpenAPI document) and the keys that WebSocket events and
// mutations invalidate (`["friends"]` covers friends and requests, `["conversations"]` every list
// of conversations).
import type { QueryKey } from "@tanstack/react-query";
import type { Api } from "./api";
import { unwrap, type ApiClient } from "./client";
import type { Conversation, Member, Message, MessagePage, Page, SendResponse } from "./types";

/** What a call needs: the typed client, and `api` where the document says only `object`. */
export interface Clients {
  api: Api;
  client: ApiClient;
}

type Read<T> = [QueryKey, () => Promise<T>];

const P = "/api/v1";

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

export const conversationList = ({ api }: Clients): Read<Page<Conversation>> => [["conversations"], () => api.get<Page<Conversation>>("/conversations", { limit: 100 })];
export const publicRooms = ({ api }: Clients): Read<Page<Conversation>> => [["conversations", "public"], () => api.get<Page<Conversation>>("/conversations/public", { limit: 50 })];
export const getConversation = ({ api }: Clients, id: number) => api.get<Conversation>(`/conversations/${id}`);

export type NewConversation =
  | { kind: "ai_chat"; character_id: number }
  | { kind: "direct"; user_id: number }
  | { kind: "group"; title: string; description: string; visibility: string };
export const createConversation = ({ api }: Clients, body: NewConversation) => api.post<Conversation>("/conversations", body);

export const joinRoom = ({ client }: Clients, id: number) => unwrap(client.POST(`${P}/conversations/{id}/join`, { params: { path: { id } } }));

export const members = ({ api }: Clients, id: number, tick: number): Read<Member[]> => [["conversations", id, "members", tick], () => api.get<Member[]>(`/conversations/${id}/members`)];
export const addMember = ({ client }: Clients, id: number, user_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/members`, { params: { path: { id } }, body: { user_id } }));
export const setMemberRole = ({ client }: Clients, id: number, user_id: number, role: string) =>
  unwrap(client.PATCH(`${P}/conversations/{id}/members/{user_id}`, { params: { path: { id, user_id } }, body: { role } }));
export const removeMember = ({ client }: Clients, id: number, user_id: number) =>
  unwrap(client.DELETE(`${P}/conversations/{id}/members/{user_id}`, { params: { path: { id, user_id } } }));
export const addRoomCharacter = ({ client }: Clients, id: number, character_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/characters`, { params: { path: { id } }, body: { character_id } }));

export const searchMessages = ({ api }: Clients, q: string) => api.get<Page<Message>>("/messages/search", { q, limit: 30 });
export const messages = ({ api }: Clients, id: number, q: { before?: number; limit: number }) => api.get<MessagePage>(`/conversations/${id}/messages`, q);
export const sendMessage = ({ api }: Clients, id: number, content: string, client_id: string) =>
  api.post<SendResponse>(`/conversations/${id}/messages`, { content, client_id });
export const editMessage = ({ api }: Clients, id: number, messageId: number, content: string) => api.patch<Message>(`/conversations/${id}/messages/${messageId}`, { content });
export const deleteMessage = ({ client }: Clients, id: number, message_id: number) =>
  unwrap(client.DELETE(`${P}/conversations/{id}/messages/{message_id}`, { params: { path: { id, message_id } } }));
export const markRead = ({ client }: Clients, id: number, message_id: number) =>
  unwrap(client.POST(`${P}/conversations/{id}/read`, { params: { path: { id } }, body: { message_id } }));
export const stopReply = ({ client }: Clients, id: number, job_id: string | null) =>
  unwrap(client.POST(`${P}/conversations/{id}/stop`, { params: { path: { id } }, body: job_id ? { job_id } : {} }));
export const regenerate = ({ client }: Clients, id: number) => unwrap(client.POST(`${P}/conversations/{id}/regenerate`, { params: { path: { id } } }));
