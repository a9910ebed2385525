import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GatewayClient, type EventPayload, type SocketLike } from "../src/lib/protocol";
import type { Message } from "../src/lib/types";

// A scripted stand-in for the browser's WebSocket: records what the client sends, and lets the
// test play the server.
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.closedWith = code;
  }
  // --- server side
  open(expiresAt = 0) {
    this.readyState = 1;
    this.onopen?.({});
    this.frame({ type: "ready", connection_id: "gw-1", user: { id: 1, username: "alice" }, node_id: "gw", heartbeat_interval_ms: 20000, expires_at: expiresAt });
  }
  frame(f: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  ofType(type: string) {
    return this.sent.filter((f) => f.type === type);
  }
  event(conversation: number, epoch: string, offset: number, event: Partial<EventPayload> & { type: string }) {
    this.frame({ type: "event", conversation_id: conversation, epoch, offset, event: { v: 1, ...event } });
  }
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1];

function msg(id: number, content: string, extra: Partial<Message> = {}): Message {
  return {
    id, conversation_id: 7, author_id: 1, author_username: "alice", character_id: null, role: "user",
    message_type: "text", content, reply_to_id: null, status: "complete", model: null, prompt_tokens: null,
    completion_tokens: null, client_id: null, job_id: null, created_at: "2026-01-01T00:00:00Z", edited_at: null,
    deleted_at: null, ...extra,
  };
}

function client(overrides: Partial<ConstructorParameters<typeof GatewayClient>[0]> = {}) {
  return new GatewayClient({
    url: "ws://gw.test/ws",
    getToken: async () => "tok",
    refreshToken: async () => "tok2",
    socketFactory: (url) => new FakeSocket(url),
    random: () => 0,
    ...overrides,
  });
}

/** Lets pending promises (token look-ups) run. */
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("connecting", () => {
  it("connects with the token in the query and subscribes after ready", async () => {
    const gw = client();
    gw.subscribe(7, {});
    gw.start();
    await flush();
    expect(last().url).toBe("ws://gw.test/ws?token=tok");
    expect(last().sent).toEqual([]);
    last().open();
    expect(gw.status).toBe("open");
    expect(last().ofType("subscribe")).toEqual([{ type: "subscribe", id: expect.any(String), conversation_id: 7 }]);
  });

  it("reports unauthorized when there is no token", async () => {
    const gw = client({ getToken: async () => null });
    gw.start();
    await flush();
    expect(FakeSocket.all).toHaveLength(0);
    expect(gw.status).toBe("unauthorized");
  });
});

describe("resume", () => {
  it("resubscribes with the last (epoch, offset) after a drop and takes the replay once", async () => {
    const gw = client();
    const seen: number[] = [];
    const resets: number[] = [];
    gw.subscribe(7, { onEvent: (_e, m) => seen.push(m.offset), onReset: (m) => resets.push(m.offset) });
    gw.start();
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "c1", conversation_id: 7, epoch: "E", offset: 10, recovered: false });
    expect(resets).toEqual([10]);
    last().event(7, "E", 11, { type: "message.created", message: msg(1, "a") });
    last().event(7, "E", 12, { type: "message.created", message: msg(2, "b") });
    last().drop(1006);
    expect(gw.status).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(300);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
    last().open();
    const sub = last().ofType("subscribe")[0];
    expect(sub).toMatchObject({ conversation_id: 7, epoch: "E", offset: 12 });
    last().frame({ type: "subscribed", id: sub.id, conversation_id: 7, epoch: "E", offset: 14, recovered: true });
    // The replay may overlap what was seen (at-least-once below the cursor): duplicates dropped.
    last().event(7, "E", 12, { type: "message.created", message: msg(2, "b") });
    last().event(7, "E", 13, { type: "message.created", message: msg(3, "c") });
    last().event(7, "E", 14, { type: "message.created", message: msg(4, "d") });
    last().event(7, "E", 15, { type: "message.created", message: msg(5, "e") });
    expect(seen).toEqual([11, 12, 13, 14, 15]);
    expect(resets).toEqual([10]);
    expect(gw.cursor(7)).toEqual({ epoch: "E", offset: 15 });
  });

  it("asks for a REST reload when the server cannot recover", async () => {
    const gw = client();
    const resets: string[] = [];
    gw.subscribe(7, { onReset: (m) => resets.push(`${m.epoch}:${m.offset}`) });
    gw.start();
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "c1", conversation_id: 7, epoch: "E", offset: 3, recovered: false });
    last().event(7, "E", 4, { type: "typing", user_id: 2, username: "bob" });
    last().drop(1013, "slow consumer, resume");
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "x", conversation_id: 7, epoch: "F", offset: 90, recovered: false });
    expect(resets).toEqual(["E:3", "F:90"]);
    expect(gw.cursor(7)).toEqual({ epoch: "F", offset: 90 });
  });

  it("treats an unsolicited subscribed (log lost) as a reset", async () => {
    const gw = client();
    const resets: number[] = [];
    gw.subscribe(7, { onReset: (m) => resets.push(m.offset) });
    gw.start();
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "c1", conversation_id: 7, epoch: "E", offset: 3, recovered: false });
    last().frame({ type: "subscribed", id: null, conversation_id: 7, epoch: "G", offset: 0, recovered: false });
    expect(resets).toEqual([3, 0]);
    const seen: number[] = [];
    gw.subscribe(8, {});
    gw.subscribe(7, { onEvent: (_e, m) => seen.push(m.offset) });
    last().event(7, "G", 1, { type: "typing", user_id: 2, username: "bob" });
    expect(seen).toEqual([1]);
  });

  it("delivers events of each conversation in order and ignores unsubscribed ones", async () => {
    const gw = client();
    const seen: string[] = [];
    const off = gw.subscribe(7, { onEvent: (e, m) => seen.push(`${m.conversationId}:${m.offset}:${e.type}`) });
    gw.subscribe(8, { onEvent: (e, m) => seen.push(`${m.conversationId}:${m.offset}:${e.type}`) });
    gw.start();
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "c1", conversation_id: 7, epoch: "E", offset: 0, recovered: false });
    last().frame({ type: "subscribed", id: "c2", conversation_id: 8, epoch: "H", offset: 5, recovered: false });
    last().event(7, "E", 1, { type: "generation.started", job_id: "j", attempt: 1, model: "m", character_id: 1 });
    last().event(8, "H", 6, { type: "typing", user_id: 2, username: "bob" });
    last().event(7, "E", 2, { type: "delta", job_id: "j", attempt: 1, text: "Hi" });
    last().event(7, "E", 2, { type: "delta", job_id: "j", attempt: 1, text: "Hi" });
    off();
    expect(last().ofType("unsubscribe")).toEqual([{ type: "unsubscribe", id: expect.any(String), conversation_id: 7 }]);
    last().event(7, "E", 3, { type: "delta", job_id: "j", attempt: 1, text: "!" });
    expect(seen).toEqual(["7:1:generation.started", "8:6:typing", "7:2:delta"]);
  });
});

describe("reconnect", () => {
  it("backs off exponentially with jitter up to 10 s and resets after ready", async () => {
    const gw = client({ random: () => 1 });
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => gw.backoffDelay(n))).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
    const low = client({ random: () => 0 });
    expect(low.backoffDelay(0)).toBe(250);

    gw.start();
    await flush();
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(FakeSocket.all).toHaveLength(3);
    last().open();
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(500);
    await flush();
    expect(FakeSocket.all).toHaveLength(4);
  });

  it("reconnects at once after 1001 (replica draining)", async () => {
    const gw = client();
    gw.start();
    await flush();
    last().open();
    last().drop(1001, "server shutting down, reconnect");
    await vi.advanceTimersByTimeAsync(0);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("refreshes the token after 4401 and reconnects with the new one", async () => {
    const refresh = vi.fn(async () => "fresh");
    let token = "old";
    const gw = client({ getToken: async () => token, refreshToken: async () => { token = await refresh(); return token; } });
    gw.start();
    await flush();
    last().open();
    last().drop(4401, "token expired");
    await flush();
    expect(refresh).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(0);
    await flush();
    expect(last().url).toBe("ws://gw.test/ws?token=fresh");
  });

  it("stops when the session cannot be refreshed", async () => {
    const gw = client({ refreshToken: async () => null });
    gw.start();
    await flush();
    last().open();
    last().drop(4401, "session revoked");
    await flush();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(gw.status).toBe("unauthorized");
  });

  it("checks the session when the upgrade fails before ready", async () => {
    const check = vi.fn(async () => {});
    const gw = client({ onHandshakeFailure: check });
    gw.start();
    await flush();
    last().drop(1006);
    await flush();
    expect(check).toHaveBeenCalledTimes(1);
    last(); // still the first socket until the backoff passes
    await vi.advanceTimersByTimeAsync(250);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("closes a silent socket when the pong does not come and reconnects", async () => {
    const gw = client({ pingIntervalMs: 1000, pongTimeoutMs: 500 });
    gw.start();
    await flush();
    const first = last();
    first.open();
    await vi.advanceTimersByTimeAsync(1000);
    expect(first.ofType("ping")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(first.closedWith).toBe(4000);
    await vi.advanceTimersByTimeAsync(300);
    await flush();
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("does not reconnect after stop()", async () => {
    const gw = client();
    gw.start();
    await flush();
    last().open();
    gw.stop();
    expect(last().closedWith).toBe(1000);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(gw.status).toBe("closed");
  });
});

describe("send", () => {
  it("resolves with the ack and resends unacknowledged sends after a reconnect", async () => {
    const gw = client();
    gw.start();
    await flush();
    last().open();
    const p = gw.send(7, "hello", "cid-1");
    const frame = last().ofType("send")[0];
    expect(frame).toMatchObject({ conversation_id: 7, content: "hello", client_id: "cid-1" });
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    await flush();
    last().open();
    const again = last().ofType("send");
    expect(again).toEqual([frame]);
    last().frame({ type: "ack", id: frame.id, message: msg(9, "hello", { client_id: "cid-1" }), job_id: "reply-9" });
    await expect(p).resolves.toMatchObject({ message: { id: 9 }, job_id: "reply-9" });
  });

  it("queues a send made while disconnected", async () => {
    const gw = client();
    gw.start();
    await flush();
    const p = gw.send(7, "later", "cid-2");
    expect(last().sent).toEqual([]);
    last().open();
    const frame = last().ofType("send")[0];
    last().frame({ type: "ack", id: frame.id, message: msg(3, "later"), job_id: null });
    await expect(p).resolves.toMatchObject({ message: { id: 3 } });
  });

  it("rejects with the error frame's code and message", async () => {
    const gw = client();
    gw.start();
    await flush();
    last().open();
    const p = gw.send(7, "x".repeat(3000), "cid-3");
    const frame = last().ofType("send")[0];
    last().frame({ type: "error", id: frame.id, code: "validation", message: "content: must be at most 2000 characters (got 3000)" });
    await expect(p).rejects.toMatchObject({ code: "validation", message: expect.stringContaining("at most 2000") });
  });

  it("times out when no answer comes", async () => {
    const gw = client({ sendTimeoutMs: 1000 });
    gw.start();
    await flush();
    const p = gw.send(7, "x", "cid-4");
    const check = expect(p).rejects.toMatchObject({ code: "timeout" });
    await vi.advanceTimersByTimeAsync(1000);
    await check;
  });
});

describe("other frames", () => {
  it("throttles typing to one frame per interval", async () => {
    let now = 0;
    const gw = client({ now: () => now });
    gw.start();
    await flush();
    last().open();
    gw.typing(7);
    now = 500;
    gw.typing(7);
    gw.typing(8);
    now = 2100;
    gw.typing(7);
    expect(last().ofType("typing").map((f) => f.conversation_id)).toEqual([7, 8, 7]);
  });

  it("routes presence and notifications, and reports subscribe errors", async () => {
    const gw = client();
    const presence: string[] = [];
    const errors: string[] = [];
    const notes: string[] = [];
    gw.subscribe(7, { onPresence: (u, on) => presence.push(`${u}:${on}`), onError: (c) => errors.push(c) });
    gw.onNotification((n) => notes.push(n.type));
    gw.start();
    await flush();
    last().open();
    const sub = last().ofType("subscribe")[0];
    last().frame({ type: "presence", conversation_id: 7, user_id: 2, online: true });
    last().frame({ type: "notification", event: { type: "friend.request", from_user_id: 2, from_username: "bob" } });
    last().frame({ type: "error", id: sub.id, code: "not_found", message: "conversation not found" });
    expect(presence).toEqual(["2:true"]);
    expect(notes).toEqual(["friend.request"]);
    expect(errors).toEqual(["not_found"]);
  });

  it("hands a fresh token to the open socket before the old one expires", async () => {
    let now = 1_000_000;
    const gw = client({ now: () => now, getToken: async () => "newer", pingIntervalMs: 1e9 });
    gw.start();
    await flush();
    last().open(Math.floor(now / 1000) + 900);
    now += 840_000;
    await vi.advanceTimersByTimeAsync(839_000);
    expect(last().ofType("auth")).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    await flush();
    expect(last().ofType("auth")).toEqual([{ type: "auth", id: expect.any(String), token: "newer" }]);
  });

  it("gives a second handler of a subscribed conversation a reset to load from", async () => {
    const gw = client();
    gw.subscribe(7, {});
    gw.start();
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "c1", conversation_id: 7, epoch: "E", offset: 4, recovered: false });
    const resets: number[] = [];
    gw.subscribe(7, { onReset: (m) => resets.push(m.offset) });
    await flush();
    expect(resets).toEqual([4]);
    expect(last().ofType("subscribe")).toHaveLength(1);
  });

  it("tells a handler that joins later who is online, and resets presence on resubscribe", async () => {
    const gw = client();
    gw.subscribe(7, {});
    gw.start();
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "c1", conversation_id: 7, epoch: "E", offset: 1, recovered: false });
    last().frame({ type: "presence", conversation_id: 7, user_id: 2, online: true });
    last().frame({ type: "presence", conversation_id: 7, user_id: 3, online: true });
    last().frame({ type: "presence", conversation_id: 7, user_id: 3, online: false });
    const seen: string[] = [];
    gw.subscribe(7, { onPresence: (u, on) => seen.push(`${u}:${on}`) });
    await flush();
    expect(seen).toEqual(["2:true"]);
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    await flush();
    last().open();
    last().frame({ type: "subscribed", id: "c9", conversation_id: 7, epoch: "E", offset: 1, recovered: true });
    expect(seen).toEqual(["2:true", "2:false"]);
  });
});
