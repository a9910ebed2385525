import { Suspense, createContext, lazy, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { Api, errorText } from "./lib/api";
import { config } from "./lib/config";
import { GatewayClient, type ConnectionStatus, type UserNotification } from "./lib/protocol";
import { match, navigate, usePath } from "./lib/router";
import type { User } from "./lib/types";
import { Avatar, ErrorBox, Field, Icon, Link, Modal, Spinner } from "./ui";
import { AuthPage } from "./pages/Auth";
import { ChatsPage } from "./pages/Chats";
import { CharactersPage } from "./pages/Characters";
import { CharacterEditor } from "./pages/CharacterEditor";
import { PeoplePage } from "./pages/People";
import { ServersPage } from "./pages/Servers";
import { SettingsPage } from "./pages/Settings";

// The dashboard is for administrators only: its code loads when one opens it.
const AdminPage = lazy(() => import("./pages/Admin").then((m) => ({ default: m.AdminPage })));

export interface Toast {
  id: number;
  text: string;
  kind: "info" | "error";
}

export interface AppContext {
  api: Api;
  gw: GatewayClient;
  user: User;
  status: ConnectionStatus;
  toast(text: string, kind?: Toast["kind"]): void;
  /** Bumped on notifications so lists reload (friends, conversations). */
  notices: number;
  lastNotice: UserNotification | null;
  /**
   * Bumped when the session is renewed after it ended (the user logged in again over the
   * current screen): every view reloads what failed while it was gone.
   */
  sessionEpoch: number;
}

const Ctx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const c = useContext(Ctx);
  if (!c) throw new Error("useApp outside the app");
  return c;
}

type Theme = "light" | "dark";

function initialTheme(): Theme {
  const saved = localStorage.getItem("chat.theme");
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

const cfg = config();
const api = new Api(cfg.apiBase, cfg.adminBase);

function makeGateway(): GatewayClient {
  return new GatewayClient({
    url: cfg.gatewayUrl,
    getToken: () => api.freshToken(90),
    refreshToken: async () => ((await api.refresh().catch(() => false)) ? api.accessToken : null),
    onHandshakeFailure: async () => {
      // A refused upgrade looks like any other failure to a browser: ask the API whether the
      // token still works (a 401 there refreshes it).
      await api.get("/auth/me");
    },
  });
}

export function App() {
  const [user, setUser] = useState<User | null>(api.user);
  const [expired, setExpired] = useState(false);
  const [sessionEpoch, setSessionEpoch] = useState(0);
  const ended = useRef(false);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [status, setStatus] = useState<ConnectionStatus>("idle");
  const [notices, setNotices] = useState(0);
  const [lastNotice, setLastNotice] = useState<UserNotification | null>(null);
  const gwRef = useRef<GatewayClient | null>(null);
  if (!gwRef.current) gwRef.current = makeGateway();
  const path = usePath();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("chat.theme", theme);
  }, [theme]);

  const toast = useCallback((text: string, kind: Toast["kind"] = "info") => {
    const id = Date.now() + Math.random();
    setToasts((t) => [...t.slice(-3), { id, text, kind }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), kind === "error" ? 7000 : 4000);
  }, []);

  // Session: follow logins, logouts and expiry (also from other tabs).
  useEffect(() => {
    const off = api.onSession((u, reason) => {
      if (u) {
        setUser((prev) => {
          if (prev && prev.id !== u.id) {
            // Another account in this tab: start clean.
            location.assign("/");
          }
          return u;
        });
        setExpired(false);
        if (ended.current) {
          ended.current = false;
          setSessionEpoch((e) => e + 1);
        }
      } else if (reason === "expired") {
        ended.current = true;
        setExpired(true);
      } else {
        setUser(null);
      }
    });
    const onStorage = (e: StorageEvent) => {
      if (e.key === "chat.session" && e.newValue === null && api.user) api.drop("logout");
    };
    window.addEventListener("storage", onStorage);
    return () => {
      off();
      window.removeEventListener("storage", onStorage);
    };
  }, []);

  // Verify a stored session once at start (refreshes it when the access token ran out).
  useEffect(() => {
    if (!api.user) return;
    api.get<User>("/auth/me").then((me) => api.setUser(me)).catch(() => undefined);
  }, []);

  // The gateway lives while someone is logged in.
  useEffect(() => {
    const gw = gwRef.current!;
    if (!user) return;
    const offStatus = gw.onStatus(setStatus);
    const offNote = gw.onNotification((n) => {
      setNotices((x) => x + 1);
      setLastNotice(n);
      if (n.type === "friend.request") toast(`${(n as { from_username: string }).from_username} sent you a friend request`);
      if (n.type === "friend.accepted") toast(`${(n as { username: string }).username} accepted your friend request`);
      if (n.type === "session.revoked") api.drop("expired");
    });
    gw.start();
    const online = () => gw.reconnectNow();
    window.addEventListener("online", online);
    const visible = () => document.visibilityState === "visible" && gw.reconnectNow();
    document.addEventListener("visibilitychange", visible);
    return () => {
      offStatus();
      offNote();
      window.removeEventListener("online", online);
      document.removeEventListener("visibilitychange", visible);
      gw.stop();
      gwRef.current = makeGateway();
    };
  }, [user?.id, toast]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (expired && gwRef.current?.status === "unauthorized") return;
    if (!expired && user && gwRef.current?.status === "unauthorized") gwRef.current.reconnectNow();
  }, [expired, user]);

  if (!user) {
    const register = path.startsWith("/register");
    if (!path.startsWith("/login") && !register) {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path)}`;
      queueMicrotask(() => navigate(`/login${next}`, { replace: true }));
    }
    return (
      <>
        <AuthPage api={api} mode={register ? "register" : "login"} theme={theme} onTheme={setTheme} />
        <Toasts toasts={toasts} />
      </>
    );
  }

  const ctx: AppContext = { api, gw: gwRef.current!, user, status, toast, notices, lastNotice, sessionEpoch };
  return (
    <Ctx.Provider value={ctx}>
      <Shell path={path} theme={theme} onTheme={setTheme}>
        <Routes path={path} user={user} />
      </Shell>
      {expired && <Relogin user={user} onDone={() => setExpired(false)} />}
      <Toasts toasts={toasts} />
    </Ctx.Provider>
  );
}

function Routes({ path, user }: { path: string; user: User }) {
  let m: Record<string, string> | null;
  if (path === "/" || path === "/login" || path === "/register") {
    const next = new URLSearchParams(location.search).get("next");
    queueMicrotask(() => navigate(next && next.startsWith("/") ? next : "/chats", { replace: true }));
    return null;
  }
  if (path === "/chats") return <ChatsPage id={null} />;
  if ((m = match("/chats/:id", path))) return <ChatsPage id={Number(m.id)} />;
  if (path === "/characters") return <CharactersPage />;
  if (path === "/characters/new") return <CharacterEditor id={null} />;
  if ((m = match("/characters/:id/edit", path))) return <CharacterEditor id={Number(m.id)} />;
  if (path === "/people") return <PeoplePage />;
  if (path === "/servers") return <ServersPage serverId={null} channelId={null} />;
  if ((m = match("/servers/:id", path))) return <ServersPage serverId={Number(m.id)} channelId={null} />;
  if ((m = match("/servers/:id/:channel", path))) return <ServersPage serverId={Number(m.id)} channelId={Number(m.channel)} />;
  if (path === "/settings") return <SettingsPage />;
  if (path.startsWith("/admin")) {
    if (user.role !== "admin") return <NotFound text="The dashboard is for administrators." />;
    m = match("/admin/users/:id", path);
    return (
      <Suspense fallback={<Spinner />}>
        <AdminPage userId={m ? Number(m.id) : null} tab={path.split("/")[2] || "overview"} />
      </Suspense>
    );
  }
  return <NotFound text="There is nothing at this address." />;
}

function NotFound({ text }: { text: string }) {
  return (
    <div className="page">
      <div className="empty">
        <h3>Not found</h3>
        <p>{text}</p>
        <Link to="/chats">Go to your chats</Link>
      </div>
    </div>
  );
}

const statusText: Record<ConnectionStatus, string> = {
  idle: "Not connected",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  unauthorized: "Signed out of live updates",
  closed: "Offline",
};

function Shell({ path, children, theme, onTheme }: { path: string; children: ReactNode; theme: Theme; onTheme(t: Theme): void }) {
  const { user, status, api } = useApp();
  const items: [string, string, string][] = [
    ["/chats", "Chats", "chat"],
    ["/characters", "Characters", "star"],
    ["/people", "People", "people"],
    ["/servers", "Servers", "server"],
  ];
  if (user.role === "admin") items.push(["/admin", "Admin", "chart"]);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav className="rail" aria-label="Main">
        <div className="brand" aria-hidden="true">
          ◆
        </div>
        {items.map(([to, label, icon]) => (
          <Link key={to} to={to} className={`rail-item${path.startsWith(to) ? " active" : ""}`} aria-current={path.startsWith(to) ? "page" : undefined}>
            <Icon name={icon} />
            <span>{label}</span>
          </Link>
        ))}
        <div className="rail-spacer" />
        <span className={`conn conn-${status}`} title={statusText[status]} role="status" aria-label={`Connection: ${statusText[status]}`}>
          <i />
          <span className="conn-text">{statusText[status]}</span>
        </span>
        <button type="button" className="rail-item" onClick={() => onTheme(theme === "dark" ? "light" : "dark")} aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}>
          <Icon name={theme === "dark" ? "sun" : "moon"} />
          <span>Theme</span>
        </button>
        <Link to="/settings" className={`rail-item${path === "/settings" ? " active" : ""}`} title="Profile and settings">
          <Avatar name={user.display_name || user.username} url={user.avatar_url} size={24} />
          <span>Me</span>
        </Link>
        <button type="button" className="rail-item" onClick={() => void api.logout()} aria-label="Log out">
          <Icon name="logout" />
          <span>Log out</span>
        </button>
      </nav>
      <main id="main" className="main">
        {children}
      </main>
    </div>
  );
}

function Relogin({ user, onDone }: { user: User; onDone(): void }) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title="Your session has expired">
      <form
        className="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await api.login(user.username, password);
            onDone();
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <p className="muted">Log in again to continue; what you typed is kept.</p>
        <Field label="Username" value={user.username} readOnly autoComplete="username" />
        <Field label="Password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="button" className="ghost" onClick={() => void api.logout()}>
            Log out
          </button>
          <button type="submit" className="primary" disabled={busy || !password}>
            Log in
          </button>
        </div>
      </form>
    </Modal>
  );
}

function Toasts({ toasts }: { toasts: Toast[] }) {
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast ${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

/** Runs an async loader and keeps its result, error and a reload function. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: unknown; loading: boolean; reload(): void; set(v: T): void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const epoch = useContext(Ctx)?.sessionEpoch ?? 0;
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((e) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [...deps, tick, epoch]); // eslint-disable-line react-hooks/exhaustive-deps
  return useMemo(() => ({ data, error, loading, reload: () => setTick((t) => t + 1), set: setData }), [data, error, loading]);
}

export { errorText };
