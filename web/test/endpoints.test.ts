// The calls in lib/endpoints.ts: the URL, method and body each one sends, and the cache key it
// files its answer under (what WebSocket events and mutations invalidate).
import { describe, expect, it, vi } from "vitest";
import { Api, type SessionStore } from "../src/lib/api";
import { makeClient } from "../src/lib/client";
import * as E from "../src/lib/endpoints.later";

interface Sent {
  method: string;
  url: string;
  body: string;
  type: string | null;
}

function setup(answer: (s: Sent) => unknown = () => ({})) {
  const user = { id: 1, username: "alice", display_name: "alice", bio: "", avatar_url: null, role: "user", created_at: "" };
  const store: SessionStore = { load: () => ({ access_token: "a", access_expires_at: Date.now() + 600_000, refresh_token: "r", user }), save() {} };
  const sent: Sent[] = [];
  const fetchImpl = vi.fn(async (url: string, init?: RequestInit) => {
    const raw = init?.body;
    const body = raw == null ? "" : typeof raw === "string" ? raw : new TextDecoder().decode(raw as ArrayBuffer);
    const type = new Headers(init?.headers).get("Content-Type");
    const s = { method: init?.method ?? "GET", url, body, type };
    sent.push(s);
    return new Response(JSON.stringify(answer(s)), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  const api = new Api("http://h/api/v1", "http://h:8002/api/v1/admin", store, fetchImpl as unknown as typeof fetch);
  return { app: { api, client: makeClient(api) }, sent };
}

describe("endpoints", () => {
  it("reads a conversation's messages before an id, typed by the document", async () => {
    const { app, sent } = setup(() => ({ items: [{ id: 5, content: "hi" }], has_more: false }));
    const page = await E.messages(app, 7, { before: 10, limit: 50 });
    expect(page.items[0].content).toBe("hi");
    expect(sent).toEqual([{ method: "GET", url: "http://h/api/v1/conversations/7/messages?before=10&limit=50", body: "", type: null }]);
  });

  it("sends a message with its client id, and edits one", async () => {
    const { app, sent } = setup();
    await E.sendMessage(app, 3, "안녕하세요", "c-1");
    await E.editMessage(app, 3, 9, "fixed");
    expect(sent.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual([
      'POST http://h/api/v1/conversations/3/messages {"content":"안녕하세요","client_id":"c-1"}',
      'PATCH http://h/api/v1/conversations/3/messages/9 {"content":"fixed"}',
    ]);
  });

  it("server reads are keyed under servers and skip the request without a server", async () => {
    const { app, sent } = setup(() => [{ user_id: 1, username: "alice", role: "owner", joined_at: "" }]);
    const [key, load] = E.serverMembers(app, null);
    expect(key).toEqual(["servers", null, "members"]);
    expect(await load()).toEqual([]);
    expect(sent).toEqual([]);
    const [key2, load2] = E.serverMembers(app, 4);
    expect(key2).toEqual(["servers", 4, "members"]);
    expect((await load2())[0].role).toBe("owner");
    expect(sent[0].url).toBe("http://h/api/v1/servers/4/members");
  });

  it("server, friend and block mutations go to their routes", async () => {
    const { app, sent } = setup();
    await E.joinServerByCode(app, "ABC123");
    await E.createChannel(app, 4, { name: "logs", description: "" });
    await E.leaveServer(app, 4);
    await E.acceptFriendRequest(app, 11);
    await E.cancelFriendRequest(app, 12);
    await E.unfriend(app, 2);
    await E.block(app, 2);
    await E.unblock(app, 2);
    expect(sent.map((s) => `${s.method} ${s.url.replace("http://h/api/v1", "")} ${s.body}`)).toEqual([
      'POST /servers/join {"invite_code":"ABC123"}',
      'POST /servers/4/channels {"name":"logs","description":""}',
      "POST /servers/4/leave ",
      "POST /friends/requests/11/accept ",
      "DELETE /friends/requests/12 ",
      "DELETE /friends/2 ",
      'POST /blocks {"user_id":2}',
      "DELETE /blocks/2 ",
    ]);
  });

  it("imports a card file as it is, with its content type and the chosen visibility", async () => {
    const { app, sent } = setup(() => ({ id: 8, name: "Nova" }));
    const file = new TextEncoder().encode('{"spec":"chara_card_v2"}').buffer as ArrayBuffer;
    const created = await E.importCard(app, file, false, "public");
    expect(created.name).toBe("Nova");
    expect(sent[0]).toEqual({ method: "POST", url: "http://h/api/v1/characters/import?visibility=public", body: '{"spec":"chara_card_v2"}', type: "application/json" });
  });

  it("admin reads go to admin-stats, keyed under admin", async () => {
    const { app, sent } = setup(() => ({ items: [], limit: 25, offset: 0, total: 0 }));
    const [key, load] = E.adminUsers(app, "kim", 25, 50);
    expect(key).toEqual(["admin", "users", "kim", 50]);
    await load();
    await E.adminPatchUser(app, 3, { is_active: false });
    expect(sent.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual([
      "GET http://h:8002/api/v1/admin/users?q=kim&limit=25&offset=50 ",
      'PATCH http://h:8002/api/v1/admin/users/3 {"is_active":false}',
    ]);
  });
});
