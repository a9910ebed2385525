// What every screen shares: the API client, the socket, the user, toasts. A module of its own so
// pages do not import app.tsx (which imports the pages).
import { createContext, useContext, useMemo } from "react";
import { useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import type { Api } from "./lib/api";
import type { ApiClient } from "./lib/client";
import type { ConnectionStatus, GatewayClient } from "./lib/protocol";
import type { User } from "./lib/types";

export interface Toast {
  id: number;
  text: string;
  kind: "info" | "error";
}

export interface AppContext {
  api: Api;
  /** The typed client (OpenAPI); `api` for what the document does not describe yet. */
  client: ApiClient;
  gw: GatewayClient;
  user: User;
  status: ConnectionStatus;
  toast(text: string, kind?: Toast["kind"]): void;
  /**
   * Bumped when the session is renewed after it ended (the user logged in again over the
   * current screen): views holding state outside the query cache reload (the open conversation).
   */
  sessionEpoch: number;
}

export const AppCtx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const c = useContext(AppCtx);
  if (!c) throw new Error("useApp outside the app");
  return c;
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload(): void;
  set(v: T): void;
}

/**
 * Server state through TanStack Query: cached by `key`, retried once, refetched when invalidated
 * (WebSocket notifications, a renewed session). Keys start with the resource
 * (`["conversations", …]`, `["friends", …]`) so a prefix invalidates a family.
 */
export function useLoad<T>(key: QueryKey, load: () => Promise<T>, opts: { refetchInterval?: number; staleTime?: number; enabled?: boolean } = {}): Loaded<T> {
  const qc = useQueryClient();
  const q = useQuery({ queryKey: key, queryFn: load, refetchInterval: opts.refetchInterval, staleTime: opts.staleTime, enabled: opts.enabled });
  const keyText = JSON.stringify(key);
  return useMemo(
    () => ({
      data: q.data ?? null,
      error: q.error,
      loading: q.isPending,
      reload: () => void q.refetch(),
      set: (v: T) => qc.setQueryData(key, v),
    }),
    [q.data, q.error, q.isPending, keyText], // eslint-disable-line react-hooks/exhaustive-deps
  );
}
