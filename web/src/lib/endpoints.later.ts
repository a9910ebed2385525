// The calls of the screens that load when opened (characters and the editor, people, settings,
// servers, stories, the admin dashboard, conversation management): a module of their own so they
// arrive with those screens, not with the first load. Re-exports the shared calls, so a later
// screen imports one module.
import { unwrap, type Schemas } from "./client";
import { P, conversationList, type Clients, type Read } from "./endpoints";
import type {
  AdminConversation,
  AdminMessagePage,
  AdminUser,
  AdminUserDetail,
  Character,
  Conversation,
  Overview,
  Page,
  Realtime,
  Server,
  ServerMember,
  UserUsage,
} from "./types";

export * from "./endpoints";

// ---- characters (the editor, import and export of Character Card V2 files)

export type CharacterBody = Schemas["CreateCharacterRequest"];
export const createCharacter = ({ client }: Clients, body: CharacterBody) => unwrap(client.POST(`${P}/characters`, { body }));
export const updateCharacter = ({ client }: Clients, id: number, body: Schemas["UpdateCharacterRequest"]) =>
  unwrap(client.PATCH(`${P}/characters/{id}`, { params: { path: { id } }, body }));
export const deleteCharacter = ({ client }: Clients, id: number) => unwrap(client.DELETE(`${P}/characters/{id}`, { params: { path: { id } } }));
/** A card file as it is (JSON or PNG with the card in a text chunk); the raw body goes through `api`. */
export const importCard = ({ api }: Clients, file: ArrayBuffer, png: boolean, visibility: string) =>
  api.request<Character>("POST", "/characters/import", { rawBody: file, contentType: png ? "image/png" : "application/json", query: { visibility } });
/** The card as a download: the response itself (its body and Content-Disposition). */
export const exportCard = ({ api }: Clients, id: number, format: "json" | "png") =>
  api.request<Response>("GET", `/characters/${id}/export`, { query: { format }, raw: true });

// ---- friends and blocks (People); every change invalidates ["friends"] or ["blocks"]

export const sendFriendRequest = ({ client }: Clients, user_id: number) => unwrap(client.POST(`${P}/friends/requests`, { body: { user_id } }));
export const acceptFriendRequest = ({ client }: Clients, id: number) =>
  unwrap(client.POST(`${P}/friends/requests/{id}/accept`, { params: { path: { id } } }));
export const rejectFriendRequest = ({ client }: Clients, id: number) =>
  unwrap(client.POST(`${P}/friends/requests/{id}/reject`, { params: { path: { id } } }));
export const cancelFriendRequest = ({ client }: Clients, id: number) => unwrap(client.DELETE(`${P}/friends/requests/{id}`, { params: { path: { id } } }));
export const unfriend = ({ client }: Clients, user_id: number) => unwrap(client.DELETE(`${P}/friends/{user_id}`, { params: { path: { user_id } } }));
export const block = ({ client }: Clients, user_id: number) => unwrap(client.POST(`${P}/blocks`, { body: { user_id } }));
export const unblock = ({ client }: Clients, user_id: number) => unwrap(client.DELETE(`${P}/blocks/{user_id}`, { params: { path: { user_id } } }));

// ---- profile

export const updateProfile = ({ client }: Clients, body: Schemas["UpdateProfileRequest"]) => unwrap(client.PATCH(`${P}/users/me`, { body }));

// ---- personas (Settings → Personas); key ["personas"]

export type Persona = Schemas["PersonaView"];
export const personaList = ({ client }: Clients): Read<Persona[]> => [["personas"], () => unwrap(client.GET(`${P}/personas`))];
export const createPersona = ({ client }: Clients, body: Schemas["PersonaRequest"]) => unwrap(client.POST(`${P}/personas`, { body }));
export const makeDefaultPersona = ({ client }: Clients, id: number) =>
  unwrap(client.POST(`${P}/personas/{id}/default`, { params: { path: { id } } }));
export const deletePersona = ({ client }: Clients, id: number) => unwrap(client.DELETE(`${P}/personas/{id}`, { params: { path: { id } } }));

// ---- common prompts (Admin → Prompts, api-service)

export const createPrompt = ({ client }: Clients, body: Schemas["CreatePromptRequest"]) => unwrap(client.POST(`${P}/prompts`, { body }));
export const updatePrompt = ({ client }: Clients, id: number, body: Schemas["UpdatePromptRequest"]) =>
  unwrap(client.PATCH(`${P}/prompts/{id}`, { params: { path: { id } }, body }));
export const deletePrompt = ({ client }: Clients, id: number) => unwrap(client.DELETE(`${P}/prompts/{id}`, { params: { path: { id } } }));
export const reorderPrompts = ({ client }: Clients, ids: number[]) => unwrap(client.PUT(`${P}/prompts/order`, { body: { ids } }));

// ---- servers; keys under ["servers"]

const asServer = (p: Promise<Schemas["ServerView"]>) => p as Promise<unknown> as Promise<Server>;
export const serverList = ({ client }: Clients): Read<Server[]> => [["servers"], () => unwrap(client.GET(`${P}/servers`)) as Promise<unknown> as Promise<Server[]>];
export const server = ({ client }: Clients, id: number | null): Read<Server | null> => [
  ["servers", id],
  () => (id ? asServer(unwrap(client.GET(`${P}/servers/{id}`, { params: { path: { id } } }))) : Promise.resolve(null)),
];
export const serverMembers = ({ client }: Clients, id: number | null): Read<ServerMember[]> => [
  ["servers", id, "members"],
  () => (id ? unwrap(client.GET(`${P}/servers/{id}/members`, { params: { path: { id } } })) : Promise.resolve([])),
];
export const publicServers = ({ client }: Clients): Read<Page<Server>> => [
  ["servers", "public"],
  () => unwrap(client.GET(`${P}/servers/public`, { params: { query: { limit: 50 } } })) as Promise<unknown> as Promise<Page<Server>>,
];
export const createServer = ({ client }: Clients, body: Schemas["CreateServerRequest"]) => asServer(unwrap(client.POST(`${P}/servers`, { body })));
export const joinServerByCode = ({ client }: Clients, invite_code: string) => asServer(unwrap(client.POST(`${P}/servers/join`, { body: { invite_code } })));
export const joinServer = ({ client }: Clients, id: number) => unwrap(client.POST(`${P}/servers/{id}/join`, { params: { path: { id } } }));
export const leaveServer = ({ client }: Clients, id: number) => unwrap(client.POST(`${P}/servers/{id}/leave`, { params: { path: { id } } }));
export const deleteServer = ({ client }: Clients, id: number) => unwrap(client.DELETE(`${P}/servers/{id}`, { params: { path: { id } } }));
export const createChannel = ({ client }: Clients, id: number, body: { name: string; description: string }) =>
  unwrap(client.POST(`${P}/servers/{id}/channels`, { params: { path: { id } }, body })) as Promise<unknown> as Promise<Conversation>;

// ---- admin-stats (its own service and document, not fetched yet: hand-kept types in types.ts)

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
export const adminOverview = ({ api }: Clients, days: number): Read<Overview> => [
  ["admin", "overview", days],
  () => api.admin<Overview>("/stats/overview", { from: isoDay(new Date(Date.now() - (days - 1) * 86400_000)), to: isoDay(new Date()), top: 8 }),
];
export const adminUsers = ({ api }: Clients, q: string, limit: number, offset: number): Read<Page<AdminUser>> => [
  ["admin", "users", q, offset],
  () => api.admin<Page<AdminUser>>("/users", { q, limit, offset }),
];
export const adminUser = ({ api }: Clients, id: number): Read<AdminUserDetail> => [["admin", "user", id], () => api.admin<AdminUserDetail>(`/users/${id}`)];
export const adminUsage = ({ api }: Clients, id: number, group_by: "day" | "model"): Read<UserUsage> => [
  ["admin", "user", id, "usage", group_by],
  () => api.admin<UserUsage>(`/users/${id}/usage`, { group_by }),
];
export const adminConversations = ({ api }: Clients, id: number): Read<Page<AdminConversation>> => [
  ["admin", "user", id, "conversations"],
  () => api.admin<Page<AdminConversation>>(`/users/${id}/conversations`, { limit: 50 }),
];
export const adminTranscript = ({ api }: Clients, userId: number, conversationId: number): Read<AdminMessagePage> => [
  ["admin", "user", userId, "conversations", conversationId],
  () => api.admin<AdminMessagePage>(`/users/${userId}/conversations/${conversationId}/messages`, { limit: 100 }),
];
export const adminRealtime = ({ api }: Clients): Read<Realtime> => [["admin", "realtime"], () => api.admin<Realtime>("/realtime")];
export const adminPatchUser = ({ api }: Clients, id: number, body: { is_active?: boolean; role?: string }) => api.adminPatch(`/users/${id}`, body);

// ---- stories (generated on their own, streamed on the user's channel: lib/storyState.ts)

export const stories = ({ client }: Clients): Read<Schemas["Page_StoryView"]> => [
  ["stories"],
  () => unwrap(client.GET(`${P}/stories`, { params: { query: { limit: 50 } } })),
];
export const story = ({ client }: Clients, id: number): Read<Schemas["StoryView"]> => [
  ["stories", id],
  () => unwrap(client.GET(`${P}/stories/{id}`, { params: { path: { id } } })),
];
export const createStory = ({ client }: Clients, body: Schemas["CreateStoryRequest"]) => unwrap(client.POST(`${P}/stories`, { body }));
export const stopStory = ({ client }: Clients, id: number) => unwrap(client.POST(`${P}/stories/{id}/stop`, { params: { path: { id } } }));

// ---- managing one's conversations
export const renameConversation = ({ client }: Clients, id: number, title: string) =>
  unwrap(client.PATCH(`${P}/conversations/{id}`, { params: { path: { id } }, body: { title } })) as Promise<unknown> as Promise<Conversation>;
export const deleteConversation = ({ client }: Clients, id: number) =>
  unwrap(client.DELETE(`${P}/conversations/{id}`, { params: { path: { id } } }));
/** Where the conversation sits in the caller's own list: pinned to the top, or archived. */
export type ListState = { pinned: boolean; archived: boolean };
export const setPinned = ({ client }: Clients, id: number, on: boolean): Promise<ListState> =>
  unwrap(on ? client.PUT(`${P}/conversations/{id}/pin`, { params: { path: { id } } }) : client.DELETE(`${P}/conversations/{id}/pin`, { params: { path: { id } } }));
export const setArchived = ({ client }: Clients, id: number, on: boolean): Promise<ListState> =>
  unwrap(on ? client.PUT(`${P}/conversations/{id}/archive`, { params: { path: { id } } }) : client.DELETE(`${P}/conversations/{id}/archive`, { params: { path: { id } } }));
/** One's AI chats with a character, newest first (from the conversation list). */
export const chatsWithCharacter = async (app: Clients, characterId: number): Promise<Conversation[]> => {
  const [, load] = conversationList(app);
  const page = await load();
  return page.items.filter((c) => c.kind === "ai_chat" && c.character_id === characterId);
};
export const updateServer = ({ client }: Clients, id: number, body: Schemas["UpdateServerRequest"]) =>
  asServer(unwrap(client.PATCH(`${P}/servers/{id}`, { params: { path: { id } }, body })));
export const updateChannel = ({ client }: Clients, id: number, channel_id: number, body: Schemas["ChannelRequest"]) =>
  unwrap(client.PATCH(`${P}/servers/{id}/channels/{channel_id}`, { params: { path: { id, channel_id } }, body })) as Promise<unknown> as Promise<Conversation>;
export const deleteChannel = ({ client }: Clients, id: number, channel_id: number) =>
  unwrap(client.DELETE(`${P}/servers/{id}/channels/{channel_id}`, { params: { path: { id, channel_id } } }));
