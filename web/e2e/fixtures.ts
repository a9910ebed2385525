// Helpers shared by the browser tests: users and data made over the REST API (fast, and not what
// the test is about), a logged-in page, the live-connection wait, accessibility checks.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { origin } from "./system";

const here = path.dirname(fileURLToPath(import.meta.url));
export const PASSWORD = "password123";

export interface Session {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: { id: number; username: string; display_name: string; role: string };
}

let seq = 0;
/** A name no other test run uses (usernames are unique case-insensitively). */
export function unique(prefix: string): string {
  seq += 1;
  return `${prefix}_${Date.now().toString(36).slice(-6)}${seq.toString(36)}`;
}

/** One REST call as `s` (anonymous when null); throws on an error status. */
export async function call<T = unknown>(s: Session | null, method: string, p: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (s) headers.Authorization = `Bearer ${s.access_token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`${origin}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function registerUser(prefix = "user"): Promise<Session> {
  const username = unique(prefix);
  return call<Session>(null, "POST", "/auth/register", { username, email: `${username}@example.com`, password: PASSWORD });
}

export async function loginUser(username: string, password: string): Promise<Session> {
  return call<Session>(null, "POST", "/auth/login", { username, password });
}

/** Opens the app logged in as `s` (the session stored as the app stores it), at `to`. */
export async function signIn(page: Page, s: Session, to = "/chats"): Promise<void> {
  await page.goto("/login");
  await page.evaluate((s) => {
    localStorage.setItem(
      "chat.session",
      JSON.stringify({ access_token: s.access_token, access_expires_at: Date.now() + s.expires_in * 1000, refresh_token: s.refresh_token, user: s.user }),
    );
  }, s);
  await page.goto(to);
}

export interface Character {
  id: number;
  name: string;
}
export interface Conversation {
  id: number;
  title: string;
}

export async function createCharacter(s: Session, name: string, extra: Record<string, unknown> = {}): Promise<Character> {
  return call<Character>(s, "POST", "/characters", { name, description: "A test character.", greeting: "Hello, {{user}}!", visibility: "private", ...extra });
}

export async function createAiChat(s: Session, characterId: number): Promise<Conversation> {
  return call<Conversation>(s, "POST", "/conversations", { kind: "ai_chat", character_id: characterId });
}

/** Waits until the app's socket is live (the connection dot says so). */
export async function waitLive(page: Page): Promise<void> {
  // Attached, not visible: on a phone the rail (and its dot) gives way to the composer.
  await page.locator(".conn-open").waitFor({ state: "attached", timeout: 20_000 });
}

/** A link of the main navigation. */
export function nav(page: Page, name: string | RegExp) {
  return page.getByRole("navigation", { name: /Main|기본/ }).getByRole("link", { name });
}

/** A message's words without Markdown emphasis marks or layout whitespace (to compare what is
 * stored with what is shown, which renders `*actions*` as emphasis). */
export function words(text: string): string {
  return text.replace(/\*/g, "").replace(/\s+/g, " ").trim();
}

/** The words of the messages on screen, in order. */
export async function messageTexts(page: Page): Promise<string[]> {
  return (await page.locator(".messages .msg .text").allInnerTexts()).map(words);
}

/** Ends the page's session behind the app's back: logs its tokens out on the server. */
export async function revokeSession(page: Page): Promise<void> {
  const status = await page.evaluate(async () => {
    const s = JSON.parse(localStorage.getItem("chat.session") ?? "{}");
    const r = await fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${s.access_token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: s.refresh_token }),
    });
    return r.status;
  });
  expect(status).toBeLessThan(300);
}

/**
 * Ends the stored session on the server while the app is closed (the tab was closed meanwhile):
 * with the app open, the gateway's `session.revoked` would reach it first and forget the session,
 * racing the next navigation.
 */
export async function revokeSessionWhileAway(page: Page): Promise<void> {
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("chat.session") ?? "{}") as { access_token: string; refresh_token: string });
  await page.goto("about:blank");
  const r = await fetch(`${origin}/api/v1/auth/logout`, {
    method: "POST",
    headers: { Authorization: `Bearer ${stored.access_token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: stored.refresh_token }),
  });
  expect(r.status).toBeLessThan(300);
}

/** No serious or critical accessibility violations (axe-core, WCAG 2 A/AA rules) on the screen. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(bad, `accessibility violations on ${screen}`).toEqual([]);
}

/** A screenshot of the screen in e2e/artifacts/screens (for people reviewing a change). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.join(here, "artifacts", "screens");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}
