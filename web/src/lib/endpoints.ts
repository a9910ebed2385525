// The reads the screens share, each with its cache key and its typed call: the one place that
// names these URLs (checked against the OpenAPI document) and the keys that WebSocket events and
// mutations invalidate (`["friends"]` covers friends and requests, `["conversations"]` every list
// of conversations).
import type { QueryKey } from "@tanstack/react-query";
import { unwrap, type ApiClient } from "./client";

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
