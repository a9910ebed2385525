import { describe, expect, it, vi } from "vitest";
import { Api, ApiError, type SessionStore, type StoredSession } from "../src/lib/api";
import { clientBase, makeClient, unwrap } from "../src/lib/client";

const user = { id: 1, username: "alice", display_name: "alice", bio: "", avatar_url: null, role: "user", created_at: "" };

function store(initial: StoredSession | null): SessionStore & { value: StoredSession | null } {
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

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

function authOf(init: RequestInit | undefined): string {
  const h = init?.headers;
  if (h instanceof Headers) return h.get("Authorization") ?? "";
  return (h as Record<string, string> | undefined)?.Authorization ?? "";
}

describe("typed client (openapi-fetch over the session)", () => {
  it("sends the bearer token, refreshes once on 401 and retries with the new token", async () => {
    const s = store({ access_token: "a1", access_expires_at: Date.now() + 600_000, refresh_token: "r1", user });
    const calls: string[] = [];
    const fetchImpl = vi.fn(async (url: string, init?: RequestInit) => {
      calls.push(`${init?.method} ${url} ${authOf(init)}`);
      if (url.endsWith("/auth/refresh")) return json(200, { access_token: "a2", token_type: "Bearer", expires_in: 900, refresh_token: "r2", user });
      return authOf(init) === "Bearer a2" ? json(200, []) : json(401, { code: "unauthorized", detail: "access token expired" });
    });
    const api = new Api("http://h/api/v1", "http://h/api/v1/admin", s, fetchImpl as unknown as typeof fetch);
    const client = makeClient(api);
    await expect(unwrap(client.GET("/api/v1/friends"))).resolves.toEqual([]);
    expect(calls).toEqual(["GET http://h/api/v1/friends Bearer a1", "POST http://h/api/v1/auth/refresh ", "GET http://h/api/v1/friends Bearer a2"]);
  });

  it("turns a problem body into an ApiError with the API's code, detail and field errors", async () => {
    const s = store({ access_token: "a1", access_expires_at: Date.now() + 600_000, refresh_token: "r1", user });
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) =>
      json(422, { code: "validation", detail: "invalid input", errors: [{ field: "limit", message: "must be at most 100" }] }),
    );
    const client = makeClient(new Api("http://h/api/v1", "", s, fetchImpl as unknown as typeof fetch));
    const err = await unwrap(client.GET("/api/v1/characters", { params: { query: { limit: 1000 } } })).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe("validation");
    expect(err.field("limit")).toBe("must be at most 100");
    expect(fetchImpl.mock.calls[0][0]).toBe("http://h/api/v1/characters?limit=1000");
  });

  it("puts the document's /api/v1 paths under a configured API base", () => {
    expect(clientBase("/api/v1")).toBe("");
    expect(clientBase("https://api.example.com/api/v1")).toBe("https://api.example.com");
    expect(clientBase("/backend/api/v1")).toBe("/backend");
  });
});
