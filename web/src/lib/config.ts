// Where the app finds the three public endpoints. Order of precedence, for each:
//   1. a <meta> tag in index.html (editable after the build: the runtime override),
//   2. a build-time variable (VITE_GATEWAY_URL, VITE_ADMIN_URL, VITE_API_BASE),
//   3. the default: same origin behind the reverse proxy (/api/v1, /ws, /api/v1/admin), except
//      when the page is served by api-service itself on :8000 or by `vite` on :5173 (`make run`,
//      development), where the gateway listens on :3001 and admin-stats on :8002 of the same host.

export interface RuntimeConfig {
  apiBase: string;
  gatewayUrl: string;
  adminBase: string;
}

export interface LocationLike {
  protocol: string;
  hostname: string;
  port: string;
  host: string;
}

export interface BuildEnv {
  VITE_GATEWAY_URL?: string;
  VITE_ADMIN_URL?: string;
  VITE_API_BASE?: string;
}

export const DEV_PORTS = ["8000", "5173"];

/** Makes `value` absolute: `/ws` → `ws://host/ws`, `//h/x` → scheme-relative, else as is. */
function absolute(value: string, loc: LocationLike, ws: boolean): string {
  const secure = loc.protocol === "https:";
  const scheme = ws ? (secure ? "wss:" : "ws:") : loc.protocol;
  if (value.startsWith("//")) return `${scheme}${value}`;
  if (value.startsWith("/")) return `${scheme}//${loc.host}${value}`;
  return value;
}

export function resolveConfig(
  loc: LocationLike,
  meta: (name: string) => string | null | undefined,
  env: BuildEnv,
): RuntimeConfig {
  const pick = (metaName: string, envValue: string | undefined) => {
    const m = meta(metaName)?.trim();
    if (m) return m;
    const e = envValue?.trim();
    return e || undefined;
  };
  const dev = DEV_PORTS.includes(loc.port);
  const secure = loc.protocol === "https:";
  const gateway =
    pick("chat-gateway-url", env.VITE_GATEWAY_URL) ??
    (dev ? `${secure ? "wss" : "ws"}://${loc.hostname}:3001/ws` : "/ws");
  const admin =
    pick("chat-admin-url", env.VITE_ADMIN_URL) ??
    (dev && loc.port === "8000" ? `${loc.protocol}//${loc.hostname}:8002/api/v1/admin` : "/api/v1/admin");
  const api = pick("chat-api-base", env.VITE_API_BASE) ?? "/api/v1";
  return {
    apiBase: api.replace(/\/+$/, ""),
    gatewayUrl: absolute(gateway, loc, true),
    adminBase: admin.replace(/\/+$/, ""),
  };
}

function readMeta(name: string): string | null {
  if (typeof document === "undefined") return null;
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") ?? null;
}

let cached: RuntimeConfig | null = null;

export function config(): RuntimeConfig {
  if (!cached) {
    cached = resolveConfig(window.location, readMeta, import.meta.env as BuildEnv);
  }
  return cached;
}
