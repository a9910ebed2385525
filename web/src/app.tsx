import { Suspense, lazy, useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "./i18n";
import { Navigate, Outlet, Route, Routes, useLocation, useNavigate, useParams, useSearchParams } from "react-router";
import { AppCtx, useApp, type AppContext, type Toast } from "./appContext";
import { Api, errorText } from "./lib/api";
import { config } from "./lib/config";
import { t, withScreenMessages } from "./i18n";
import { GatewayClient, type ConnectionStatus } from "./lib/protocol";
import { makeClient } from "./lib/client";
import { me } from "./lib/endpoints";
import { queryClient } from "./lib/queryClient";
import { setNavigate } from "./lib/router";
import type { User } from "./lib/types";
import { Avatar, Icon, Link, Spinner } from "./ui";
import { AuthPage } from "./pages/Auth";
import { ChatsPage } from "./pages/Chats";

// Only the login and chat screens are in the first download; the rest loads when opened.
const AdminPage = lazy(() => withScreenMessages(import("./pages/Admin")).then((m) => ({ default: m.AdminPage })));
const CharactersPage = lazy(() => withScreenMessages(import("./pages/Characters")).then((m) => ({ default: m.CharactersPage })));
const CharacterEditor = lazy(() => withScreenMessages(import("./pages/CharacterEditor")).then((m) => ({ default: m.CharacterEditor })));
const PeoplePage = lazy(() => withScreenMessages(import("./pages/People")).then((m) => ({ default: m.PeoplePage })));
const ServersPage = lazy(() => withScreenMessages(import("./pages/Servers")).then((m) => ({ default: m.ServersPage })));
const StoriesPage = lazy(() => withScreenMessages(import("./pages/Stories")).then((m) => ({ default: m.StoriesPage })));
// Shown only when the session ended: asks for the password over the current screen.
const Relogin = lazy(() => import("./components/Relogin").then((m) => ({ default: m.Relogin })));
const SettingsPage = lazy(() => withScreenMessages(import("./pages/Settings")).then((m) => ({ default: m.SettingsPage })));

type Theme = "light" | "dark";

function initialTheme(): Theme {
  const saved = localStorage.getItem("chat.theme");
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

const cfg = config();
const api = new Api(cfg.apiBase, cfg.adminBase);
const client = makeClient(api);

function makeGateway(): GatewayClient {
  return new GatewayClient({
    url: cfg.gatewayUrl,
    getToken: () => api.freshToken(90),
    refreshToken: async () => ((await api.refresh().catch(() => false)) ? api.accessToken : null),
    onHandshakeFailure: async () => {
      // A refused upgrade looks like any other failure to a browser: ask the API whether the
      // token still works (a 401 there refreshes it).
      await me(client);
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
  const gwRef = useRef<GatewayClient | null>(null);
  if (!gwRef.current) gwRef.current = makeGateway();
  const path = useLocation().pathname;

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
          // Logged in again over the screen: whatever failed meanwhile loads again.
          ended.current = false;
          setSessionEpoch((e) => e + 1);
          void queryClient.invalidateQueries();
        }
      } else if (reason === "expired") {
        ended.current = true;
        setExpired(true);
      } else {
        queryClient.clear();
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
    me(client).then((u) => api.setUser(u)).catch(() => undefined);
  }, []);

  // The gateway lives while someone is logged in; its notifications invalidate cached lists.
  useEffect(() => {
    const gw = gwRef.current!;
    if (!user) return;
    const offStatus = gw.onStatus(setStatus);
    const offNote = gw.onNotification((n) => {
      if (n.type.startsWith("friend.")) void queryClient.invalidateQueries({ queryKey: ["friends"] });
      if (n.type.startsWith("conversation.")) void queryClient.invalidateQueries({ queryKey: ["conversations"] });
      if (n.type === "friend.request") toast(t("toast.friendRequest", { name: (n as { from_username: string }).from_username }));
      if (n.type === "friend.accepted") {
        toast(t("toast.friendAccepted", { name: (n as { username: string }).username }));
        void queryClient.invalidateQueries({ queryKey: ["conversations"] });
      }
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
      return <Navigate to={`/login${next}`} replace />;
    }
    return (
      <>
        <AuthPage api={api} mode={register ? "register" : "login"} theme={theme} onTheme={setTheme} />
        <Toasts toasts={toasts} />
      </>
    );
  }

  const ctx: AppContext = { api, client, gw: gwRef.current!, user, status, toast, sessionEpoch };
  return (
    <AppCtx.Provider value={ctx}>
      <Shell path={path} theme={theme} onTheme={setTheme}>
        <Suspense fallback={<Spinner />}>
          <Outlet />
        </Suspense>
      </Shell>
      {expired && (
        <Suspense fallback={null}>
          <Relogin user={user} onDone={() => setExpired(false)} />
        </Suspense>
      )}
      <Toasts toasts={toasts} />
    </AppCtx.Provider>
  );
}

/** After logging in: where the login page was asked to go next, else the chats. */
function AfterLogin() {
  const next = new URLSearchParams(useLocation().search).get("next");
  return <Navigate to={next && next.startsWith("/") && !next.startsWith("//") ? next : "/chats"} replace />;
}

const num = (v: string | undefined) => (v ? Number(v) : null);

function ChatsRoute() {
  // `?m=` opens the conversation at that message (a search hit).
  const [query] = useSearchParams();
  return <ChatsPage id={num(useParams().id)} focus={num(query.get("m") ?? undefined)} />;
}
function EditorRoute() {
  return <CharacterEditor id={num(useParams().id)} />;
}
function ServersRoute() {
  const p = useParams();
  return <ServersPage serverId={num(p.id)} channelId={num(p.channel)} />;
}
function StoriesRoute() {
  return <StoriesPage id={num(useParams().id)} />;
}
function AdminRoute() {
  const { user } = useApp();
  const p = useParams();
  if (user.role !== "admin") return <NotFound textKey="common.adminOnly" />;
  return <AdminPage userId={num(p.id)} tab={p.id ? "users" : p.tab || "overview"} />;
}

/** Every address of the app; `App` is the layout (session, socket, navigation rail). */
export function AppRoutes() {
  setNavigate(useNavigate());
  return (
    <Routes>
      <Route path="/" element={<App />}>
        <Route index element={<AfterLogin />} />
        <Route path="login" element={<AfterLogin />} />
        <Route path="register" element={<AfterLogin />} />
        <Route path="chats/:id?" element={<ChatsRoute />} />
        <Route path="characters" element={<CharactersPage />} />
        <Route path="characters/new" element={<EditorRoute />} />
        <Route path="characters/:id/edit" element={<EditorRoute />} />
        <Route path="people" element={<PeoplePage />} />
        <Route path="servers/:id?/:channel?" element={<ServersRoute />} />
        <Route path="stories/:id?" element={<StoriesRoute />} />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="admin/users/:id" element={<AdminRoute />} />
        <Route path="admin/:tab?" element={<AdminRoute />} />
        <Route path="*" element={<NotFound textKey="common.nothingHere" />} />
      </Route>
    </Routes>
  );
}

function NotFound({ textKey }: { textKey: "common.adminOnly" | "common.nothingHere" }) {
  const { t } = useTranslation();
  return (
    <div className="page">
      <div className="empty">
        <h3>{t("common.notFound")}</h3>
        <p>{t(textKey)}</p>
        <Link to="/chats">{t("common.goToChats")}</Link>
      </div>
    </div>
  );
}

function Shell({ path, children, theme, onTheme }: { path: string; children: ReactNode; theme: Theme; onTheme(t: Theme): void }) {
  const { user, status, api } = useApp();
  const { t } = useTranslation();
  const items: [string, string, string][] = [
    ["/chats", t("nav.chats"), "chat"],
    ["/characters", t("nav.characters"), "star"],
    ["/stories", t("nav.stories"), "book"],
    ["/people", t("nav.people"), "people"],
    ["/servers", t("nav.servers"), "server"],
  ];
  if (user.role === "admin") items.push(["/admin", t("nav.admin"), "chart"]);
  const statusText = t(`status.${status}`);
  const other = theme === "dark" ? t("nav.themeLight") : t("nav.themeDark");
  // In a conversation on a phone the composer takes the bottom of the screen (CSS hides the rail).
  const inConversation = /^\/(chats\/\d+|servers\/\d+\/\d+)/.test(path);
  return (
    <div className={`shell${inConversation ? " in-conversation" : ""}`}>
      <a className="skip" href="#main">
        {t("nav.skip")}
      </a>
      <nav className="rail" aria-label={t("nav.main")}>
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
        <span className={`conn conn-${status}`} title={statusText} role="status" aria-label={t("nav.connection", { status: statusText })}>
          <i />
          <span className="conn-text">{statusText}</span>
        </span>
        <button type="button" className="rail-item" onClick={() => onTheme(theme === "dark" ? "light" : "dark")} aria-label={t("nav.switchTheme", { theme: other })}>
          <Icon name={theme === "dark" ? "sun" : "moon"} />
          <span>{t("nav.theme")}</span>
        </button>
        <Link to="/settings" className={`rail-item${path === "/settings" ? " active" : ""}`} title={t("nav.profile")}>
          <Avatar name={user.display_name || user.username} url={user.avatar_url} size={24} />
          <span>{t("nav.me")}</span>
        </Link>
        <button type="button" className="rail-item" onClick={() => void api.logout()} aria-label={t("nav.logout")}>
          <Icon name="logout" />
          <span>{t("nav.logout")}</span>
        </button>
      </nav>
      <main id="main" className="main">
        {children}
      </main>
    </div>
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

export { errorText };
