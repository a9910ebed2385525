// The WebSocket protocol client (docs/protocol.md): one socket to any chat-gateway replica,
// subscriptions that survive reconnects without loss or duplicates, and idempotent sends.
//
// - Keeps the last (epoch, offset) per conversation and resubscribes with it after a reconnect;
//   events at or below the kept offset of the same epoch are dropped (duplicates).
// - `subscribed` with `recovered: false` (or a fresh subscription, or an unsolicited one) tells the
//   handlers to reload the conversation over REST (`onReset`), then live events follow.
// - Reconnects with jittered exponential backoff (0.25–0.5 s doubling to 10 s); at once after
//   1001 (replica draining); after 4401 only with a refreshed token.
// - Sends carry a client_id; unacknowledged sends are sent again after a reconnect (the server
//   answers a repeated client_id with the original message).
// - Hands a fresh access token to the open socket (`auth`) before the old one expires, and pings
//   so a dead network is noticed.

import type { Message } from "./types";

export type EventPayload =
  | { v: number; type: "message.created"; message: Message }
  | { v: number; type: "message.edited"; message: Message }
  | { v: number; type: "message.deleted"; conversation_id: number; message_id: number }
  | { v: number; type: "message.variant_added"; conversation_id: number; message: Message; index: number; count: number }
  | { v: number; type: "message.variant_selected"; conversation_id: number; message_id: number; index: number; count: number; leaf_id: number }
  | { v: number; type: "conversation.path_changed"; conversation_id: number; message_id: number; leaf_id: number }
  | { v: number; type: "generation.started"; job_id: string; attempt: number; model: string; character_id: number | null }
  | { v: number; type: "delta"; job_id: string; attempt: number; text: string }
  | {
      v: number;
      type: "message.completed";
      job_id: string;
      message: Message;
      usage: { prompt_tokens: number; completion_tokens: number; cached_prompt_tokens?: number };
    }
  | { v: number; type: "message.failed"; job_id: string; reason: string; retryable: boolean }
  | { v: number; type: "typing"; user_id: number; username: string }
  | { v: number; type: "member.joined"; user_id: number; role: string }
  | { v: number; type: "member.left"; user_id: number }
  | { v: number; type: "member.role_changed"; user_id: number; role: string };

export type UserNotification =
  | { type: "friend.request"; from_user_id: number; from_username: string }
  | { type: "friend.accepted"; user_id: number; username: string }
  | { type: "conversation.added"; conversation_id: number }
  | { type: "conversation.removed"; conversation_id: number }
  | { type: "session.revoked" }
  | { type: string; [k: string]: unknown };

export type ServerFrame =
  | {
      type: "ready";
      connection_id: string;
      user: { id: number; username: string };
      node_id: string;
      heartbeat_interval_ms: number;
      expires_at: number;
    }
  | { type: "authenticated"; id: string | null; expires_at: number }
  | { type: "subscribed"; id: string | null; conversation_id: number; epoch: string; offset: number; recovered: boolean }
  | { type: "unsubscribed"; id: string | null; conversation_id: number }
  | { type: "event"; conversation_id: number; epoch: string; offset: number; event: EventPayload }
  | { type: "ack"; id: string | null; message: Message; job_id: string | null }
  | { type: "cancel_requested"; id: string | null; conversation_id: number; job_id: string }
  | { type: "notification"; event: UserNotification }
  | { type: "presence"; conversation_id: number; user_id: number; online: boolean }
  | { type: "pong"; id: string | null }
  | { type: "error"; id: string | null; code: string; message: string };

export interface Cursor {
  epoch: string;
  offset: number;
}

export interface EventMeta {
  conversationId: number;
  epoch: string;
  offset: number;
}

export interface ConversationHandler {
  /** An event of the conversation, in order, each exactly once. */
  onEvent?(event: EventPayload, meta: EventMeta): void;
  /** Continuity is not known: reload the conversation over REST; live events follow. */
  onReset?(meta: EventMeta): void;
  onPresence?(userId: number, online: boolean): void;
  /** The server refused the subscription (`not_found`) or removed the user. */
  onError?(code: string, message: string): void;
}

export interface Ack {
  message: Message;
  job_id: string | null;
}

export class GatewayError extends Error {
  code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
  }
}

export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "unauthorized" | "closed";

/** What the client needs of a WebSocket (the browser's, or a fake in tests). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface GatewayOptions {
  url: string;
  /** A valid access token (refreshing it first when it is about to expire). */
  getToken(): Promise<string | null>;
  /** Forces a refresh (after close 4401); null when the session is over. */
  refreshToken(): Promise<string | null>;
  /** The socket closed before `ready` (maybe a 401 at the upgrade): check the session. */
  onHandshakeFailure?(): Promise<void>;
  socketFactory?: SocketFactory;
  random?: () => number;
  minDelayMs?: number;
  maxDelayMs?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  sendTimeoutMs?: number;
  typingIntervalMs?: number;
  now?: () => number;
}

interface PendingSend {
  frame: Record<string, unknown>;
  resolve(ack: Ack): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

export class GatewayClient {
  private opts: Required<Omit<GatewayOptions, "onHandshakeFailure">> & Pick<GatewayOptions, "onHandshakeFailure">;
  private ws: SocketLike | null = null;
  private ready = false;
  private connecting = false;
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private authTimer: ReturnType<typeof setTimeout> | null = null;
  private nextId = 1;
  private subs = new Map<number, Set<ConversationHandler>>();
  private cursors = new Map<number, Cursor>();
  /** Who is online in each subscribed conversation (replayed to handlers that join later). */
  private online = new Map<number, Set<number>>();
  private subscribeIds = new Map<string, number>();
  private pending = new Map<string, PendingSend>();
  private lastTyping = new Map<number, number>();
  private statusListeners = new Set<(s: ConnectionStatus) => void>();
  private notificationListeners = new Set<(n: UserNotification) => void>();
  status: ConnectionStatus = "idle";
  /** The user the gateway authenticated (from `ready`). */
  user: { id: number; username: string } | null = null;

  constructor(options: GatewayOptions) {
    this.opts = {
      socketFactory: (url) => new WebSocket(url) as unknown as SocketLike,
      random: Math.random,
      minDelayMs: 250,
      maxDelayMs: 10_000,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      sendTimeoutMs: 20_000,
      typingIntervalMs: 2_000,
      now: () => Date.now(),
      ...options,
    };
  }

  // ------------------------------------------------------------------ public API

  start() {
    this.stopped = false;
    void this.connect();
  }

  /** Closes the socket for good (logout); pending sends fail. */
  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const ws = this.ws;
    this.detach();
    ws?.close(1000, "bye");
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new GatewayError("closed", "disconnected"));
      this.pending.delete(id);
    }
    this.subs.clear();
    this.cursors.clear();
    this.online.clear();
    this.setStatus("closed");
  }

  /** Reconnects now instead of waiting for the backoff (the browser came back online). */
  reconnectNow() {
    if (this.stopped || this.ready || this.connecting) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempt = 0;
    void this.connect();
  }

  get isOpen(): boolean {
    return this.ready && this.ws?.readyState === OPEN;
  }

  cursor(conversationId: number): Cursor | undefined {
    return this.cursors.get(conversationId);
  }

  onStatus(l: (s: ConnectionStatus) => void): () => void {
    this.statusListeners.add(l);
    return () => this.statusListeners.delete(l);
  }

  onNotification(l: (n: UserNotification) => void): () => void {
    this.notificationListeners.add(l);
    return () => this.notificationListeners.delete(l);
  }

  /** Starts receiving a conversation's events; returns the function that stops it. */
  subscribe(conversationId: number, handler: ConversationHandler): () => void {
    let set = this.subs.get(conversationId);
    if (!set) {
      set = new Set();
      this.subs.set(conversationId, set);
      set.add(handler);
      if (this.isOpen) this.sendSubscribe(conversationId);
    } else {
      set.add(handler);
      // Already subscribed: this handler starts from here, so it loads the present over REST.
      const cur = this.cursors.get(conversationId);
      if (cur) queueMicrotask(() => handler.onReset?.({ conversationId, ...cur }));
      const present = [...(this.online.get(conversationId) ?? [])];
      if (present.length) queueMicrotask(() => present.forEach((u) => handler.onPresence?.(u, true)));
    }
    return () => this.unsubscribe(conversationId, handler);
  }

  private unsubscribe(conversationId: number, handler: ConversationHandler) {
    const set = this.subs.get(conversationId);
    if (!set) return;
    set.delete(handler);
    if (set.size > 0) return;
    this.subs.delete(conversationId);
    this.cursors.delete(conversationId);
    this.online.delete(conversationId);
    if (this.isOpen) this.write({ type: "unsubscribe", id: this.id(), conversation_id: conversationId });
  }

  /** Posts a message; resolves with the stored message. Retried after reconnects (same client_id). */
  send(conversationId: number, content: string, clientId: string, replyToId?: number | null): Promise<Ack> {
    const id = this.id();
    const frame: Record<string, unknown> = { type: "send", id, conversation_id: conversationId, content, client_id: clientId };
    if (replyToId) frame.reply_to_id = replyToId;
    return new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new GatewayError("timeout", "no answer from the server"));
      }, this.opts.sendTimeoutMs);
      this.pending.set(id, { frame, resolve, reject, timer });
      if (this.isOpen) this.write(frame);
    });
  }

  /** "I am typing" — at most one frame per interval and conversation. */
  typing(conversationId: number) {
    if (!this.isOpen) return;
    const now = this.opts.now();
    const last = this.lastTyping.get(conversationId) ?? -Infinity;
    if (now - last < this.opts.typingIntervalMs) return;
    this.lastTyping.set(conversationId, now);
    this.write({ type: "typing", conversation_id: conversationId });
  }

  /** Asks the worker to stop the reply in progress. False when the socket is not open. */
  cancel(conversationId: number, jobId?: string): boolean {
    if (!this.isOpen) return false;
    const frame: Record<string, unknown> = { type: "cancel", id: this.id(), conversation_id: conversationId };
    if (jobId) frame.job_id = jobId;
    this.write(frame);
    return true;
  }

  // ------------------------------------------------------------------ connection

  private id(): string {
    return `c${this.nextId++}`;
  }

  private setStatus(s: ConnectionStatus) {
    if (this.status === s) return;
    this.status = s;
    for (const l of this.statusListeners) l(s);
  }

  private write(frame: Record<string, unknown>) {
    try {
      this.ws?.send(JSON.stringify(frame));
    } catch {
      // The close handler takes it from here.
    }
  }

  private async connect() {
    if (this.stopped || this.ws || this.connecting) return;
    this.connecting = true;
    this.setStatus(this.attempt === 0 && this.status !== "reconnecting" ? "connecting" : "reconnecting");
    let token: string | null = null;
    try {
      token = await this.opts.getToken();
    } catch {
      token = null;
    }
    this.connecting = false;
    if (this.stopped) return;
    if (!token) {
      this.setStatus("unauthorized");
      return;
    }
    const sep = this.opts.url.includes("?") ? "&" : "?";
    let ws: SocketLike;
    try {
      ws = this.opts.socketFactory(`${this.opts.url}${sep}token=${encodeURIComponent(token)}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.ready = false;
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      this.handle(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) void this.closed(ev.code, ev.reason);
    };
    ws.onerror = () => {};
  }

  private detach() {
    if (!this.ws) return;
    this.ws.onmessage = null;
    this.ws.onclose = null;
    this.ws.onerror = null;
    this.ws.onopen = null;
    this.ws = null;
    this.ready = false;
  }

  private clearTimers() {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    if (this.authTimer) clearTimeout(this.authTimer);
    this.pingTimer = this.pongTimer = this.authTimer = null;
  }

  private async closed(code: number, _reason: string) {
    const wasReady = this.ready;
    this.detach();
    this.clearTimers();
    if (this.stopped) return;
    this.setStatus("reconnecting");
    if (code === 4401) {
      let token: string | null = null;
      try {
        token = await this.opts.refreshToken();
      } catch {
        token = null;
      }
      if (this.stopped) return;
      if (!token) {
        this.setStatus("unauthorized");
        return;
      }
      this.attempt = 0;
      this.scheduleReconnect(0);
      return;
    }
    if (code === 1001) {
      // The replica is draining: another one answers at once.
      this.scheduleReconnect(0);
      return;
    }
    if (!wasReady && this.opts.onHandshakeFailure) {
      try {
        await this.opts.onHandshakeFailure();
      } catch {
        // Offline: the backoff below retries.
      }
      if (this.stopped) return;
    }
    this.scheduleReconnect();
  }

  /** The delay before reconnect attempt `n` (0-based): 0.25–0.5 s, doubling, at most 10 s. */
  backoffDelay(n: number): number {
    const base = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** n);
    return Math.min(this.opts.maxDelayMs, base + this.opts.random() * base);
  }

  private scheduleReconnect(delay?: number) {
    if (this.stopped || this.reconnectTimer) return;
    const wait = delay ?? this.backoffDelay(this.attempt);
    if (delay === undefined) this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, wait);
  }

  private sendSubscribe(conversationId: number) {
    const id = this.id();
    this.subscribeIds.set(id, conversationId);
    const frame: Record<string, unknown> = { type: "subscribe", id, conversation_id: conversationId };
    const cur = this.cursors.get(conversationId);
    if (cur) {
      frame.epoch = cur.epoch;
      frame.offset = cur.offset;
    }
    this.write(frame);
  }

  private handlers(conversationId: number): ConversationHandler[] {
    return [...(this.subs.get(conversationId) ?? [])];
  }

  private onReady(frame: Extract<ServerFrame, { type: "ready" }>) {
    this.ready = true;
    this.attempt = 0;
    this.user = frame.user;
    this.setStatus("open");
    this.subscribeIds.clear();
    for (const conversationId of this.subs.keys()) this.sendSubscribe(conversationId);
    for (const p of this.pending.values()) this.write(p.frame);
    this.pingTimer = setInterval(() => this.ping(), this.opts.pingIntervalMs);
    this.scheduleAuth(frame.expires_at);
  }

  private scheduleAuth(expiresAt: number) {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = null;
    if (!expiresAt) return;
    // A minute before expiry; for short-lived tokens, after three quarters of what is left.
    const remaining = expiresAt * 1000 - this.opts.now();
    const inMs = remaining > 240_000 ? remaining - 60_000 : remaining * 0.75;
    this.authTimer = setTimeout(() => void this.reauth(), Math.max(1_000, inMs));
  }

  private async reauth() {
    let token: string | null = null;
    try {
      token = await this.opts.getToken();
    } catch {
      token = null;
    }
    if (token && this.isOpen) this.write({ type: "auth", id: this.id(), token });
  }

  private ping() {
    if (!this.isOpen || this.pongTimer) return;
    this.write({ type: "ping", id: this.id() });
    this.pongTimer = setTimeout(() => {
      // No answer: the network is gone even if the browser has not noticed.
      this.pongTimer = null;
      const ws = this.ws;
      if (!ws) return;
      void this.closed(4408, "pong timeout");
      try {
        ws.close(4000, "pong timeout");
      } catch {
        // already closed
      }
    }, this.opts.pongTimeoutMs);
  }

  private handle(frame: ServerFrame) {
    switch (frame.type) {
      case "ready":
        this.onReady(frame);
        break;
      case "authenticated":
        this.scheduleAuth(frame.expires_at);
        break;
      case "subscribed":
        this.onSubscribed(frame);
        break;
      case "unsubscribed":
        if (frame.id === null || frame.id === undefined) {
          // Removed from the conversation by the server.
          this.cursors.delete(frame.conversation_id);
          for (const h of this.handlers(frame.conversation_id)) h.onError?.("removed", "removed from the conversation");
        }
        break;
      case "event":
        this.onEventFrame(frame);
        break;
      case "presence": {
        let set = this.online.get(frame.conversation_id);
        if (!set) this.online.set(frame.conversation_id, (set = new Set()));
        if (frame.online) set.add(frame.user_id);
        else set.delete(frame.user_id);
        for (const h of this.handlers(frame.conversation_id)) h.onPresence?.(frame.user_id, frame.online);
        break;
      }
      case "notification":
        for (const l of this.notificationListeners) l(frame.event);
        break;
      case "ack": {
        const p = frame.id ? this.pending.get(frame.id) : undefined;
        if (p && frame.id) {
          clearTimeout(p.timer);
          this.pending.delete(frame.id);
          p.resolve({ message: frame.message, job_id: frame.job_id });
        }
        break;
      }
      case "pong":
        if (this.pongTimer) clearTimeout(this.pongTimer);
        this.pongTimer = null;
        break;
      case "error":
        this.onErrorFrame(frame);
        break;
      default:
        break;
    }
  }

  private onSubscribed(frame: Extract<ServerFrame, { type: "subscribed" }>) {
    const conversationId = frame.conversation_id;
    if (frame.id) this.subscribeIds.delete(frame.id);
    if (!this.subs.has(conversationId)) return;
    // A fresh presence snapshot follows this frame: forget the old one.
    const before = this.online.get(conversationId);
    this.online.delete(conversationId);
    for (const u of before ?? []) for (const h of this.handlers(conversationId)) h.onPresence?.(u, false);
    const had = this.cursors.get(conversationId);
    const meta = { conversationId, epoch: frame.epoch, offset: frame.offset };
    if (frame.recovered && had && had.epoch === frame.epoch) {
      // The missed events follow; keep our position so each is taken exactly once.
      return;
    }
    this.cursors.set(conversationId, { epoch: frame.epoch, offset: frame.offset });
    for (const h of this.handlers(conversationId)) h.onReset?.(meta);
  }

  private onEventFrame(frame: Extract<ServerFrame, { type: "event" }>) {
    const conversationId = frame.conversation_id;
    if (!this.subs.has(conversationId)) return;
    const cur = this.cursors.get(conversationId);
    if (cur && cur.epoch === frame.epoch && frame.offset <= cur.offset) return; // seen already
    this.cursors.set(conversationId, { epoch: frame.epoch, offset: frame.offset });
    const meta = { conversationId, epoch: frame.epoch, offset: frame.offset };
    if (cur && cur.epoch !== frame.epoch) {
      // A new epoch without a `subscribed`: what came before cannot be known.
      for (const h of this.handlers(conversationId)) h.onReset?.(meta);
    }
    for (const h of this.handlers(conversationId)) h.onEvent?.(frame.event, meta);
  }

  private onErrorFrame(frame: Extract<ServerFrame, { type: "error" }>) {
    const id = frame.id ?? "";
    const p = this.pending.get(id);
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new GatewayError(frame.code, frame.message));
      return;
    }
    const conversationId = this.subscribeIds.get(id);
    if (conversationId !== undefined) {
      this.subscribeIds.delete(id);
      for (const h of this.handlers(conversationId)) h.onError?.(frame.code, frame.message);
    }
  }
}
