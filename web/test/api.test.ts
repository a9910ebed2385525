import { describe, expect, it, vi } from "vitest";
import { Api, ApiError, type SessionStore, type StoredSession } from "../src/lib/api";
import { resolveConfig } from "../src/lib/config";

function memoryStore(initial: StoredSession | null): SessionStore & { value: StoredSession | null } {
  return {
    value: initial,
    load() {
      return this.value;
    },
    save(s) {
      this.value = s;
    },
  };
}

const user = { id: 1, username: "alice", display_name: "alice", bio: "", avatar_url: null, role: "user" as const, created_at: "" };

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

describe("api client", () => {
  it("refreshes once on 401, rotates the refresh token and retries the request", async () => {
    const store = memoryStore({ access_token: "a1", access_expires_at: Date.now() + 600_000, refresh_token: "r1", user });
    const calls: string[] = [];
    const fetchImpl = vi.fn(async (url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization ?? "";
      calls.push(`${init.method} ${url} ${auth}`);
      if (url.endsWith("/auth/refresh")) {
        expect(JSON.parse(init.body as string)).toEqual({ refresh_token: "r1" });
        return json(200, { access_token: "a2", token_type: "Bearer", expires_in: 900, refresh_token: "r2", user });
      }
      return auth === "Bearer a2" ? json(200, { ok: true }) : json(401, { code: "unauthorized", detail: "access token expired" });
    });
    const api = new Api("/api/v1", "/api/v1/admin", store, fetchImpl as unknown as typeof fetch);
    await expect(api.get("/things")).resolves.toEqual({ ok: true });
    expect(calls).toEqual(["GET /api/v1/things Bearer a1", "POST /api/v1/auth/refresh ", "GET /api/v1/things Bearer a2"]);
    expect(store.value?.refresh_token).toBe("r2");
  });

  it("drops the session when the refresh token is refused, and does not loop", async () => {
    const store = memoryStore({ access_token: "a1", access_expires_at: Date.now() + 600_000, refresh_token: "r1", user });
    const fetchImpl = vi.fn(async (url: string) =>
      url.endsWith("/auth/refresh") ? json(401, { code: "unauthorized", detail: "invalid refresh token" }) : json(401, { code: "unauthorized", detail: "expired" }),
    );
    const api = new Api("/api/v1", "/a", store, fetchImpl as unknown as typeof fetch);
    const reasons: (string | undefined)[] = [];
    api.onSession((_u, r) => reasons.push(r));
    await expect(api.get("/x")).rejects.toBeInstanceOf(ApiError);
    expect(fetchImpl).toHaveBeenCalledTimes(2);
    expect(store.value).toBeNull();
    expect(reasons).toEqual(["expired"]);
  });

  it("shares one refresh between concurrent 401s", async () => {
    const store = memoryStore({ access_token: "a1", access_expires_at: Date.now() + 600_000, refresh_token: "r1", user });
    let refreshes = 0;
    const fetchImpl = vi.fn(async (url: string, init: RequestInit) => {
      if (url.endsWith("/auth/refresh")) {
        refreshes++;
        return json(200, { access_token: "a2", token_type: "Bearer", expires_in: 900, refresh_token: "r2", user });
      }
      const auth = (init.headers as Record<string, string>).Authorization;
      return auth === "Bearer a2" ? json(200, 1) : json(401, { code: "unauthorized", detail: "x" });
    });
    const api = new Api("/api/v1", "/a", store, fetchImpl as unknown as typeof fetch);
    await Promise.all([api.get("/a"), api.get("/b"), api.get("/c")]);
    expect(refreshes).toBe(1);
  });

  it("turns problem bodies into errors with the field messages", async () => {
    const fetchImpl = vi.fn(async () =>
      json(422, { type: "about:blank", title: "Unprocessable", status: 422, code: "validation", detail: "invalid input", errors: [{ field: "content", message: "must be at most 2000 characters (got 2001)" }] }),
    );
    const api = new Api("/api/v1", "/a", memoryStore(null), fetchImpl as unknown as typeof fetch);
    const e = (await api.post("/x", {}).catch((e) => e)) as ApiError;
    expect(e.status).toBe(422);
    expect(e.field("content")).toContain("2000");
    expect(e.describe()).toBe("invalid input — content: must be at most 2000 characters (got 2001)");
  });
});

describe("runtime config", () => {
  const loc = (href: string) => {
    const u = new URL(href);
    return { protocol: u.protocol, hostname: u.hostname, port: u.port, host: u.host };
  };
  const none = () => null;

  it("uses the development ports next to api-service on :8000", () => {
    expect(resolveConfig(loc("http://localhost:8000/chats"), none, {})).toEqual({
      apiBase: "/api/v1",
      gatewayUrl: "ws://localhost:3001/ws",
      adminBase: "http://localhost:8002/api/v1/admin",
    });
  });

  it("uses the same origin behind the reverse proxy", () => {
    expect(resolveConfig(loc("https://chat.example.com/"), none, {})).toEqual({
      apiBase: "/api/v1",
      gatewayUrl: "wss://chat.example.com/ws",
      adminBase: "/api/v1/admin",
    });
  });

  it("prefers the meta tag, then the build variable", () => {
    const meta = (n: string) => (n === "chat-gateway-url" ? "ws://gw:9/ws" : null);
    const cfg = resolveConfig(loc("http://localhost:8000/"), meta, { VITE_GATEWAY_URL: "ws://env/ws", VITE_ADMIN_URL: "http://adm/api/v1/admin/" });
    expect(cfg.gatewayUrl).toBe("ws://gw:9/ws");
    expect(cfg.adminBase).toBe("http://adm/api/v1/admin");
  });
});
