// The typed REST client: every path, parameter and response type comes from the API's OpenAPI
// document (openapi/api.json → api-schema.d.ts, `bash scripts/web-openapi.sh`), so a renamed
// field or route breaks the build. Requests go through the session of `Api` (token, refresh).
import createClient, { type Client } from "openapi-fetch";
import { ApiError, problemError, type Api } from "./api";
import type { components, paths } from "./api-schema";

export type Schemas = components["schemas"];
export type ApiClient = Client<paths>;

/** The document's paths start with /api/v1; the client's base is what comes before it. */
export function clientBase(apiBase: string): string {
  return apiBase.replace(/\/api\/v1$/, "");
}

export function makeClient(api: Api): ApiClient {
  const base = clientBase(api.base);
  return createClient<paths>({
    baseUrl: base || (typeof location !== "undefined" ? location.origin : ""),
    fetch: api.authFetch,
  });
}

/** The data of a typed call, or the API's problem as an `ApiError`. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw error instanceof ApiError ? error : problemError(response, error);
  return data as T;
}
