// The REST client: JSON in and out, the API's problem bodies as `ApiError`, and the session
// (access token in memory and storage, refresh token in localStorage, rotated on every use; a
// 401 refreshes once and retries the request once).

import type { TokenResponse, User } from "./types";

export interface FieldError {
  field: string;
  message: string;
}

/** An error answer of the API (RFC 9457 body) or a network failure (status 0). */
export class ApiError extends Error {
  status: number;
  code: string;
  detail: string;
  errors: FieldError[];
  retryAfter: number | null;

  constructor(status: number, code: string, detail: string, errors: FieldError[] = [], retryAfter: number | null = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }

  /** The message for one field, if the API named it. */
  field(name: string): string | undefined {
    return this.errors.find((e) => e.field === name)?.message;
  }

  /** A sentence for people: the detail, plus field messages not already in it. */
  describe(): string {
    const extra = this.errors.map((e) => `${e.field}: ${e.message}`).filter((m) => !this.detail.includes(m));
    const base = this.detail || `request failed (${this.status})`;
    const retry = this.code === "rate_limited" && this.retryAfter ? ` Try again in ${this.retryAfter} s.` : "";
    return [base, ...extra].join(" — ") + retry;
  }
}

let translator: ((e: ApiError) => string | null) | null = null;

/** How API errors read in the user's language (set by the i18n module; English otherwise). */
export function setErrorTranslator(f: (e: ApiError) => string | null) {
  translator = f;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return translator?.(e) ?? e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Reads an error response into an `ApiError`, whatever its body. */
export async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = {};
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  return problemError(res, body);
}

/** An `ApiError` from a response and its already-parsed body (an RFC 9457 problem, or not). */
export function problemError(res: Response, parsed: unknown): ApiError {
  const body = (parsed && typeof parsed === "object" ? parsed : {}) as Record<string, unknown>;
  const retry = Number(res.headers.get("Retry-After"));
  return new ApiError(
    res.status,
    typeof body.code === "string" ? body.code : String(res.status),
    typeof body.detail === "string" ? body.detail : res.statusText || `HTTP ${res.status}`,
    Array.isArray(body.errors) ? (body.errors as FieldError[]) : [],
    Number.isFinite(retry) && retry > 0 ? retry : null,
  );
}

// ---------------------------------------------------------------- session storage

const KEY = "chat.session";

export interface StoredSession {
  access_token: string;
  /** Unix ms when the access token expires. */
  access_expires_at: number;
  refresh_token: string;
  user: User;
}

export interface SessionStore {
  load(): StoredSession | null;
  save(s: StoredSession | null): void;
}

export const localSessionStore: SessionStore = {
  load() {
    try {
      const raw = localStorage.getItem(KEY);
      return raw ? (JSON.parse(raw) as StoredSession) : null;
    } catch {
      return null;
    }
  },
  save(s) {
    if (s) localStorage.setItem(KEY, JSON.stringify(s));
    else localStorage.removeItem(KEY);
  },
};

/** Runs `f` holding a lock shared by every tab, so two tabs never spend one refresh token. */
async function withTabLock<T>(f: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks?.request) return locks.request("chat-session-refresh", f) as Promise<T>;
  return f();
}

export type SessionListener = (user: User | null, reason?: "expired" | "logout") => void;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  /** A raw body (Blob, ArrayBuffer, string) sent with `contentType`. */
  rawBody?: BodyInit;
  contentType?: string;
  headers?: Record<string, string>;
  /** Absolute base instead of the API base (admin-stats). */
  base?: string;
  /** Return the Response itself (downloads). */
  raw?: boolean;
  /** No Authorization header, no refresh (login, register, refresh). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

export class Api {
  base: string;
  adminBase: string;
  private session: StoredSession | null;
  private refreshing: Promise<boolean> | null = null;
  private listeners = new Set<SessionListener>();
  private store: SessionStore;
  private fetchImpl: typeof fetch;

  constructor(base: string, adminBase: string, store: SessionStore = localSessionStore, fetchImpl?: typeof fetch) {
    this.base = base;
    this.adminBase = adminBase;
    this.store = store;
    this.fetchImpl = fetchImpl ?? ((...args) => fetch(...args));
    this.session = store.load();
  }

  get user(): User | null {
    return this.session?.user ?? null;
  }

  get accessToken(): string | null {
    return this.session?.access_token ?? null;
  }

  get accessExpiresAt(): number {
    return this.session?.access_expires_at ?? 0;
  }

  onSession(l: SessionListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(reason?: "expired" | "logout") {
    for (const l of this.listeners) l(this.user, reason);
  }

  private adopt(t: TokenResponse) {
    this.session = {
      access_token: t.access_token,
      access_expires_at: Date.now() + t.expires_in * 1000,
      refresh_token: t.refresh_token,
      user: t.user,
    };
    this.store.save(this.session);
  }

  setUser(user: User) {
    if (!this.session) return;
    this.session = { ...this.session, user };
    this.store.save(this.session);
    this.emit();
  }

  async login(username: string, password: string): Promise<User> {
    const t = await this.request<TokenResponse>("POST", "/auth/login", { body: { username, password }, anonymous: true });
    this.adopt(t);
    this.emit();
    return t.user;
  }

  async register(username: string, email: string, password: string): Promise<User> {
    const t = await this.request<TokenResponse>("POST", "/auth/register", {
      body: { username, email, password },
      anonymous: true,
    });
    this.adopt(t);
    this.emit();
    return t.user;
  }

  async logout(): Promise<void> {
    const s = this.session;
    if (s) {
      try {
        await this.request("POST", "/auth/logout", { body: { refresh_token: s.refresh_token } });
      } catch {
        // The session ends here either way.
      }
    }
    this.session = null;
    this.store.save(null);
    this.emit("logout");
  }

  /** Forgets the session locally (another tab logged out, or the server revoked it). */
  drop(reason: "expired" | "logout" = "expired") {
    this.session = null;
    this.store.save(null);
    this.emit(reason);
  }

  /**
   * Exchanges the refresh token for a new pair (single flight; one tab at a time). Another tab
   * may have rotated it meanwhile: then its fresh access token is adopted instead.
   * Resolves false when the session cannot be renewed (and is dropped).
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      const used = this.session?.refresh_token;
      this.refreshing = withTabLock(async () => {
        const stored = this.store.load();
        if (stored && stored.refresh_token !== used && stored.access_expires_at - Date.now() > 30_000) {
          this.session = stored;
          return true;
        }
        const token = stored?.refresh_token ?? used;
        if (!token) return false;
        try {
          const t = await this.request<TokenResponse>("POST", "/auth/refresh", {
            body: { refresh_token: token },
            anonymous: true,
          });
          this.adopt(t);
          return true;
        } catch (e) {
          if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
            this.drop("expired");
            return false;
          }
          throw e;
        }
      }).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** An access token valid for at least `minSeconds` more, refreshing when needed. */
  async freshToken(minSeconds = 60): Promise<string | null> {
    if (!this.session) return null;
    if (this.session.access_expires_at - Date.now() < minSeconds * 1000) {
      try {
        await this.refresh();
      } catch {
        // Network trouble: use what we have.
      }
    }
    return this.accessToken;
  }

  /**
   * `fetch` with the session, for the typed client (openapi-fetch): the bearer token, a refresh
   * ahead of expiry, and on a 401 one refresh and one retry — as `request` does.
   */
  authFetch = async (req: Request): Promise<Response> => {
    if (this.session && this.session.access_expires_at - Date.now() < 10_000) await this.refresh().catch(() => false);
    const body = req.body ? await req.clone().arrayBuffer() : undefined;
    const send = (token: string | null) => {
      const headers = new Headers(req.headers);
      if (token) headers.set("Authorization", `Bearer ${token}`);
      return this.fetchImpl(req.url, { method: req.method, headers, body, signal: req.signal });
    };
    const token = this.accessToken;
    let res: Response;
    try {
      res = await send(token);
      if (res.status === 401 && token && (await this.refresh().catch(() => false))) res = await send(this.accessToken);
    } catch (e) {
      if ((e as Error)?.name === "AbortError") throw e;
      throw new ApiError(0, "network", "cannot reach the server; check your connection");
    }
    return res;
  };

  url(path: string, query?: RequestOptions["query"], base?: string): string {
    let url = (base ?? this.base) + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
      }
      const s = q.toString();
      if (s) url += (url.includes("?") ? "&" : "?") + s;
    }
    return url;
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = this.url(path, opts.query, opts.base);
    let retried = false;
    // Refresh ahead of time when the token is about to run out.
    if (!opts.anonymous && this.session && this.session.access_expires_at - Date.now() < 10_000) {
      await this.refresh().catch(() => false);
    }
    for (;;) {
      const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
      let body: BodyInit | undefined;
      if (opts.rawBody !== undefined) {
        body = opts.rawBody;
        if (opts.contentType) headers["Content-Type"] = opts.contentType;
      } else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers["Content-Type"] = "application/json";
      }
      const token = this.accessToken;
      if (!opts.anonymous && token) headers.Authorization = `Bearer ${token}`;
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body, signal: opts.signal });
      } catch (e) {
        if ((e as Error)?.name === "AbortError") throw e;
        throw new ApiError(0, "network", "cannot reach the server; check your connection");
      }
      if (res.status === 401 && !opts.anonymous && token && !retried) {
        retried = true;
        const ok = await this.refresh().catch(() => false);
        if (ok) continue;
      }
      if (!res.ok) throw await toApiError(res);
      if (opts.raw) return res as unknown as T;
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }

  get<T>(path: string, query?: RequestOptions["query"], opts: RequestOptions = {}) {
    return this.request<T>("GET", path, { ...opts, query });
  }
  post<T>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>("POST", path, { ...opts, body });
  }
  patch<T>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>("PATCH", path, { ...opts, body });
  }
  put<T>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>("PUT", path, { ...opts, body });
  }
  del<T>(path: string, opts: RequestOptions = {}) {
    return this.request<T>("DELETE", path, opts);
  }
  admin<T>(path: string, query?: RequestOptions["query"]) {
    return this.request<T>("GET", path, { query, base: this.adminBase });
  }
  adminPatch<T>(path: string, body: unknown) {
    return this.request<T>("PATCH", path, { body, base: this.adminBase });
  }
}
