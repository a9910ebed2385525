// End-to-end tests of the web client against the real system, in headless Chromium.
//
// Starts what `make run` starts (scripts/run-local.sh) from the built binaries — redis-server,
// api-service (serving web/dist), chat-gateway, llm-worker, admin-stats — on their own ports with
// their own SQLite file, then drives the built app with playwright-core. No provider key is set,
// so the mock model answers. Screenshots of each screen go to web/e2e/artifacts/.
//
//   npm run build && node e2e/run.mjs
//
// Environment: CHROMIUM (default /usr/bin/chromium), CARGO_TARGET_DIR (default ../target),
// E2E_PORT_BASE (default 18000: api +0, gateway +1, admin +2, worker ops +3, redis +4),
// E2E_KEEP=1 keeps the data directory.

import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, "..");
const repo = path.resolve(web, "..");
const artifacts = path.join(here, "artifacts");
const targetDir = path.resolve(repo, process.env.CARGO_TARGET_DIR ?? "target");
const bin = (name) => path.join(targetDir, "debug", name);
const base = Number(process.env.E2E_PORT_BASE ?? 18000);
const ports = { api: base, gateway: base + 1, admin: base + 2, worker: base + 3, redis: base + 4 };
const origin = `http://127.0.0.1:${ports.api}`;
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

const procs = [];
let dataDir = "";

function log(...a) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

function env() {
  const e = { ...process.env };
  for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "APP__LLM__COMPAT_BASE_URL"]) delete e[k];
  return {
    ...e,
    APP_ENV: "development",
    DATABASE_URL: `sqlite://${dataDir}/chat.db`,
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    APP__HTTP__API_PORT: String(ports.api),
    APP__HTTP__GATEWAY_PORT: String(ports.gateway),
    APP__HTTP__ADMIN_PORT: String(ports.admin),
    APP__HTTP__WORKER_OPS_PORT: String(ports.worker),
    APP__HTTP__WEB_DIR: path.join(dataDir, "web"),
    APP__HTTP__SHUTDOWN_TIMEOUT_SECS: "2",
    APP__AUTH__BCRYPT_COST: "4",
    APP__RATE_LIMIT__REGISTER_PER_HOUR: "1000",
    APP__RATE_LIMIT__LOGIN_PER_MINUTE: "1000",
    APP__LLM__MOCK_TOKENS_PER_SEC: "12",
    APP__LLM__DEFAULT_MODEL: "",
    APP__LOG__FORMAT: "pretty",
    RUST_LOG: process.env.RUST_LOG ?? "info",
  };
}

function start(name, cmd, args = []) {
  const out = path.join(dataDir, "logs", `${name}.log`);
  const fd = openLog(out);
  const p = spawn(cmd, args, { env: env(), stdio: ["ignore", fd, fd], cwd: repo });
  p.name = name;
  procs.push(p);
  p.on("exit", (code, signal) => {
    if (!p.expectedExit) log(`${name} exited (${code ?? signal}); see ${out}`);
  });
  return p;
}

function openLog(file) {
  return openSync(file, "a");
}

async function waitReady(name, port, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      if (r.ok) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${name} did not become ready on :${port}; see ${dataDir}/logs/${name}.log`);
}

async function waitPort(port, timeoutMs = 20_000) {
  const net = await import("node:net");
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        res(true);
      });
      s.on("error", () => res(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on :${port}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Stops a process with `signal`; SIGKILL after 8 s. Returns whether it exited by itself. */
async function stopProc(p, signal = "SIGTERM") {
  if (p.exitCode !== null || p.signalCode !== null) return true;
  p.expectedExit = true;
  const done = new Promise((r) => p.once("exit", r));
  p.kill(signal);
  await Promise.race([done, sleep(8000)]);
  if (p.exitCode === null && p.signalCode === null) {
    p.kill("SIGKILL");
    await done;
    return false;
  }
  return true;
}

async function startSystem() {
  for (const b of ["api-service", "chat-gateway", "llm-worker", "admin-stats"]) {
    if (!existsSync(bin(b))) throw new Error(`${bin(b)} is missing: run \`cargo build --bins\` first`);
  }
  if (!existsSync(path.join(web, "dist", "index.html"))) throw new Error("web/dist is missing: run `npm run build` first");
  dataDir = mkdtempSync(path.join(tmpdir(), "chat-e2e-"));
  mkdirSync(path.join(dataDir, "logs"));
  mkdirSync(path.join(dataDir, "redis"));
  // The built app, with the runtime configuration a deployment would write into index.html.
  cpSync(path.join(web, "dist"), path.join(dataDir, "web"), { recursive: true });
  const index = path.join(dataDir, "web", "index.html");
  writeFileSync(
    index,
    readFileSync(index, "utf8")
      .replace('<meta name="chat-gateway-url" content="" />', `<meta name="chat-gateway-url" content="ws://127.0.0.1:${ports.gateway}/ws" />`)
      .replace('<meta name="chat-admin-url" content="" />', `<meta name="chat-admin-url" content="http://127.0.0.1:${ports.admin}/api/v1/admin" />`),
  );
  log(`data in ${dataDir}; api :${ports.api}, gateway :${ports.gateway}, admin :${ports.admin}, redis :${ports.redis}`);
  start("redis", "redis-server", ["--port", String(ports.redis), "--bind", "127.0.0.1", "--dir", path.join(dataDir, "redis"), "--save", "", "--appendonly", "no"]);
  await waitPort(ports.redis);
  start("api-service", bin("api-service"));
  await waitReady("api-service", ports.api);
  start("chat-gateway", bin("chat-gateway"));
  start("llm-worker", bin("llm-worker"));
  start("admin-stats", bin("admin-stats"));
  await Promise.all([waitReady("chat-gateway", ports.gateway), waitReady("llm-worker", ports.worker), waitReady("admin-stats", ports.admin)]);
  const admin = spawnSync(bin("api-service"), ["create-admin", "e2eadmin", "e2eadmin@example.com"], {
    env: { ...env(), ADMIN_PASSWORD: "admin-pass-123" },
    encoding: "utf8",
    cwd: repo,
  });
  if (admin.status !== 0) throw new Error(`create-admin failed: ${admin.stderr || admin.stdout}`);
  log("system up");
}

async function stopSystem(keep) {
  for (const p of [...procs].reverse()) await stopProc(p);
  if (dataDir && !keep) rmSync(dataDir, { recursive: true, force: true });
  else if (dataDir) log(`kept ${dataDir}`);
}

// ------------------------------------------------------------------ test helpers

const results = [];
let shot = 0;

async function screenshot(page, name) {
  shot += 1;
  const file = path.join(artifacts, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

async function newPage(browser, opts = {}) {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 }, colorScheme: opts.dark ? "dark" : "light", ...opts.context });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => log(`page error (${opts.who ?? "?"}): ${e.message}`));
  page.on("console", (m) => m.type() === "error" && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text()) && log(`console (${opts.who ?? "?"}): ${m.text()}`));
  return { context, page };
}

async function register(page, username) {
  await page.goto(`${origin}/register`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("E-mail").fill(`${username}@example.com`);
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/chats$/);
}

async function login(page, username, password) {
  await page.goto(`${origin}/login`);
  await page.getByLabel("Username or e-mail").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/chats$/);
}

/** The texts of the messages on screen, in order. */
async function messageTexts(page) {
  return page.locator(".messages .msg .text").allInnerTexts();
}

/** A link of the main navigation rail. */
function nav(page, name) {
  return page.getByRole("navigation", { name: "Main" }).getByRole("link", { name });
}

async function waitLive(page) {
  await page.locator(".conn-open").waitFor({ timeout: 20_000 });
}

async function myId(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem("chat.session") ?? "{}").user?.id);
}

async function apiGet(page, p) {
  return page.evaluate(async (p) => {
    const s = JSON.parse(localStorage.getItem("chat.session") ?? "{}");
    const r = await fetch(`/api/v1${p}`, { headers: { Authorization: `Bearer ${s.access_token}` } });
    return r.json();
  }, p);
}

// ------------------------------------------------------------------ the scenarios

async function run() {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  await startSystem();
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const suffix = Date.now().toString(36).slice(-5);
  const alice = `alice_${suffix}`;
  const bob = `bob_${suffix}`;
  const { context: ctxA, page: a } = await newPage(browser, { who: "alice" });
  let chatUrl = "";
  let characterName = `Captain Nova ${suffix}`;

  await test("register, then land in the app", async () => {
    await page_loginScreens(a);
    await register(a, alice);
    await a.getByRole("heading", { name: "Chats" }).waitFor();
    await waitLive(a);
    await screenshot(a, "chats-empty");
  });

  await test("create a character with the editor", async () => {
    await nav(a, "Characters").click();
    await a.getByRole("link", { name: "New character" }).click();
    await a.getByLabel("Name", { exact: true }).fill(characterName);
    await a.getByLabel("Description").fill("A starship captain who answers every question with a tale from the void.");
    await a.getByLabel("Personality").fill("Bold, warm, a little theatrical.");
    await a.getByLabel("Scenario").fill("The bridge of the starship Meridian.");
    await a.getByLabel("Greeting", { exact: true }).fill("Welcome aboard, {{user}}! I'm {{char}}.");
    await a.getByRole("button", { name: "Add alternate greeting" }).click();
    await a.getByLabel("Alternate greeting 1", { exact: true }).fill("Ah, a new face on my bridge!");
    await a.getByLabel("Example dialogue").fill("<START>\n{{user}}: Hi\n{{char}}: Hello, cadet.");
    await a.getByLabel("System prompt").fill("Stay in character as a starship captain.");
    await a.getByLabel("Tags").fill("scifi, captain");
    await a.getByLabel("Visibility").selectOption("public");
    await screenshot(a, "character-editor");
    await a.getByRole("button", { name: "Create character" }).click();
    await a.waitForURL(/\/characters\/\d+\/edit$/);
    await a.getByRole("heading", { name: `Edit ${characterName}` }).waitFor();
    // Bad input shows the API's field message next to the field.
    await a.getByLabel("Model preference").fill("no-slash");
    await a.getByRole("button", { name: "Save changes" }).click();
    await a.locator(".field-error", { hasText: "provider/model" }).waitFor();
    await a.getByLabel("Model preference").fill("");
    await a.getByRole("button", { name: "Save changes" }).click();
    await a.getByText("Saved").waitFor();
    await nav(a, "Characters").click();
    await a.getByRole("heading", { name: characterName }).waitFor();
    await a.getByLabel("Search").fill("Nova");
    await a.getByRole("button", { name: "#scifi" }).first().waitFor();
    await screenshot(a, "characters-gallery");
  });

  await test("export a card as JSON and import it back", async () => {
    const card = a.locator("article.char-card", { hasText: characterName });
    const [download] = await Promise.all([a.waitForEvent("download"), card.getByRole("button", { name: "JSON" }).click()]);
    const file = path.join(dataDir, "card.json");
    await download.saveAs(file);
    const json = JSON.parse(readFileSync(file, "utf8"));
    assert(json.spec === "chara_card_v2" && json.data.name === characterName, `exported card: ${JSON.stringify(json).slice(0, 200)}`);
    json.data.name = `Imported ${suffix}`;
    writeFileSync(file, JSON.stringify(json));
    await a.getByTestId("import-file").setInputFiles(file);
    await a.waitForURL(/\/characters\/\d+\/edit$/);
    await a.getByRole("heading", { name: `Edit Imported ${suffix}` }).waitFor();
    assert((await a.getByLabel("Scenario").inputValue()).includes("Meridian"), "imported scenario");
    const [png] = await Promise.all([a.waitForEvent("download"), a.getByRole("button", { name: "Export PNG" }).click()]);
    const pngFile = path.join(dataDir, "card.png");
    await png.saveAs(pngFile);
    assert(readFileSync(pngFile).subarray(1, 4).toString() === "PNG", "PNG export");
  });

  await test("chat with the character and watch the reply stream in", async () => {
    await nav(a, "Characters").click();
    await a.getByLabel("Search").fill("Nova");
    await a.locator("article.char-card", { hasText: characterName }).getByRole("button", { name: "Chat" }).click();
    await a.waitForURL(/\/chats\/\d+$/);
    chatUrl = a.url();
    await a.locator(".messages").getByText(`Welcome aboard, ${alice}! I'm ${characterName}.`).waitFor();
    await waitLive(a);
    const box = a.getByLabel("Message", { exact: true });
    await box.fill("Tell me about the nebula ahead");
    await a.locator(".counter", { hasText: "30 / 2000" }).waitFor();
    await box.press("Enter");
    const streaming = a.locator('[data-streaming="true"]');
    await streaming.waitFor();
    await a.waitForFunction(() => (document.querySelector('[data-streaming="true"] .text')?.textContent ?? "").length > 20);
    const partial = await streaming.locator(".text").innerText();
    await a.getByRole("button", { name: "Stop" }).waitFor();
    await screenshot(a, "chat-streaming");
    await streaming.waitFor({ state: "detached", timeout: 30_000 });
    const texts = await messageTexts(a);
    const reply = texts[texts.length - 1];
    assert(reply.includes("You said") && reply.includes("nebula"), `reply: ${reply}`);
    assert(reply.startsWith(partial.replace(/…$/, "").trim().slice(0, 10)), "the streamed text is the beginning of the reply");
    assert(texts.filter((t) => t === reply).length === 1, "the reply is shown once");
    await a.getByRole("button", { name: "Regenerate" }).waitFor();
    await screenshot(a, "chat-complete");
  });

  await test("the character counter enforces the limit", async () => {
    const box = a.getByLabel("Message", { exact: true });
    await box.fill("x".repeat(2001));
    await a.locator(".counter.over", { hasText: "2001 / 2000" }).waitFor();
    assert(await a.getByRole("button", { name: "Send" }).isDisabled(), "send disabled over the limit");
    await box.fill("");
  });

  await test("reload keeps the session and shows the history", async () => {
    const before = await messageTexts(a);
    await a.getByLabel("Message", { exact: true }).fill("a draft survives the reload");
    await a.reload();
    await a.locator(".messages").getByText(`Welcome aboard, ${alice}!`, { exact: false }).waitFor();
    await a.waitForFunction((n) => document.querySelectorAll(".messages .msg .text").length >= n, before.length);
    const after = await messageTexts(a);
    assert(JSON.stringify(after) === JSON.stringify(before), `history after reload: ${JSON.stringify(after)} vs ${JSON.stringify(before)}`);
    assert((await a.getByLabel("Message", { exact: true }).inputValue()) === "a draft survives the reload", "draft kept");
    await a.getByLabel("Message", { exact: true }).fill("");
    await screenshot(a, "chat-after-reload");
  });

  await test("stop and regenerate a reply", async () => {
    await a.getByLabel("Message", { exact: true }).fill("Please tell a very long story about the stars and the ships and the sea");
    await a.getByLabel("Message", { exact: true }).press("Enter");
    await a.locator('[data-streaming="true"]').waitFor();
    await a.getByRole("button", { name: "Stop" }).click();
    await a.locator('[data-streaming="true"]').waitFor({ state: "detached", timeout: 30_000 });
    await a.locator(".msg.ai", { hasText: "stopped" }).last().waitFor();
    await a.getByRole("button", { name: "Regenerate" }).click();
    await a.locator('[data-streaming="true"]').waitFor();
    await a.locator('[data-streaming="true"]').waitFor({ state: "detached", timeout: 30_000 });
    const texts = await messageTexts(a);
    assert(texts[texts.length - 1].includes("You said"), "regenerated reply");
  });

  await test("edit and delete an own message", async () => {
    await a.getByLabel("Message", { exact: true }).fill("a message with a tpyo");
    await a.getByLabel("Message", { exact: true }).press("Enter");
    const mine = a.locator(".msg.mine", { hasText: "a message with a tpyo" });
    await mine.waitFor();
    await a.locator('[data-streaming="true"]').waitFor({ state: "detached", timeout: 30_000 });
    await mine.hover();
    await mine.getByRole("button", { name: "Edit message" }).click();
    await a.getByRole("textbox", { name: "Edit message" }).fill("a message with a typo fixed");
    await a.getByRole("button", { name: "Save", exact: true }).click();
    await a.locator(".msg.mine", { hasText: "a message with a typo fixed" }).getByText("edited").waitFor();
    a.once("dialog", (d) => d.accept());
    const fixed = a.locator(".msg.mine", { hasText: "a message with a typo fixed" });
    await fixed.hover();
    await fixed.getByRole("button", { name: "Delete message" }).click();
    await fixed.waitFor({ state: "detached" });
  });

  await test("resume after the gateway restarts mid-reply: no lost or doubled text", async () => {
    await a.goto(chatUrl);
    await waitLive(a);
    const gateway = procs.find((p) => p.name === "chat-gateway");
    assert(await stopProc(gateway, "SIGTERM"), "the gateway drains and exits on SIGTERM (no SIGKILL needed)");
    await a.locator(".conn-reconnecting").waitFor();
    await a.getByLabel("Message", { exact: true }).fill("Are you still there after the storm");
    await a.getByLabel("Message", { exact: true }).press("Enter");
    await a.locator(".msg.mine", { hasText: "Are you still there after the storm" }).waitFor();
    await sleep(1500); // the reply streams while the socket is down
    start("chat-gateway", bin("chat-gateway"));
    await waitReady("chat-gateway", ports.gateway);
    await waitLive(a);
    await a.waitForFunction(() => !document.querySelector('[data-streaming="true"]'), null, { timeout: 30_000 });
    const id = Number(chatUrl.split("/").pop());
    const stored = await apiGet(a, `/conversations/${id}/messages?limit=100`);
    const expected = stored.items.filter((m) => !m.deleted_at).map((m) => m.content);
    const shown = await messageTexts(a);
    assert(JSON.stringify(shown) === JSON.stringify(expected), `shown ${JSON.stringify(shown.slice(-2))} vs stored ${JSON.stringify(expected.slice(-2))}`);
    assert(shown[shown.length - 1].includes("after the storm"), "the reply made during the outage is complete");
    await screenshot(a, "chat-after-resume");
  });

  await test("an expired session asks for the password and keeps what was typed", async () => {
    await a.goto(chatUrl);
    await waitLive(a);
    const box = a.getByLabel("Message", { exact: true });
    await box.fill("typed before the session ended");
    // End the session behind the app's back: revoke its access token and refresh-token family.
    await a.evaluate(async () => {
      const s = JSON.parse(localStorage.getItem("chat.session") ?? "{}");
      await fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: { Authorization: `Bearer ${s.access_token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      });
    });
    // Logout ends the session everywhere: the gateway closes this tab's socket (4401) and the
    // app asks for the password at once, without waiting for its next request.
    await a.getByRole("dialog", { name: "Your session has expired" }).waitFor();
    assert((await box.inputValue()) === "typed before the session ended", "draft kept under the dialog");
    await screenshot(a, "session-expired");
    await a.getByRole("dialog").getByLabel("Password").fill("password123");
    await a.getByRole("dialog").getByRole("button", { name: "Log in" }).click();
    await a.getByRole("dialog").waitFor({ state: "detached" });
    await waitLive(a);
    await box.press("Enter");
    await a.locator(".msg.mine", { hasText: "typed before the session ended" }).waitFor();
    await a.locator('[data-streaming="true"]').waitFor({ state: "detached", timeout: 30_000 });
  });

  const { context: ctxB, page: b } = await newPage(browser, { who: "bob", viewport: { width: 390, height: 844 }, dark: true });
  let roomUrl = "";

  await test("group room: a second user sees messages live", async () => {
    await register(b, bob);
    await waitLive(b);
    const bobId = await myId(b);
    await nav(a, "Chats").click();
    await a.getByRole("button", { name: "Group" }).click();
    await a.getByLabel("Name").fill(`Bridge crew ${suffix}`);
    await a.getByLabel("Description").fill("Everyone on deck");
    await a.getByRole("button", { name: "Create", exact: true }).click();
    await a.waitForURL(/\/chats\/\d+$/);
    roomUrl = a.url();
    await a.getByRole("button", { name: "Members" }).click();
    await a.getByLabel("Invite by user ID").fill(String(bobId));
    await a.getByRole("button", { name: "Invite" }).click();
    await a.locator(".side-panel", { hasText: bob }).waitFor();
    // Bob's list learns about the room from his user channel.
    await b.getByRole("link", { name: new RegExp(`Bridge crew ${suffix}`) }).click({ timeout: 20_000 });
    await b.waitForURL(/\/chats\/\d+$/);
    await waitLive(b);
    await b.getByLabel("Message", { exact: true }).waitFor();
    await sleep(500);
    await a.getByLabel("Message", { exact: true }).fill("All hands, report to the bridge");
    await a.getByLabel("Message", { exact: true }).press("Enter");
    await b.locator(".msg", { hasText: "All hands, report to the bridge" }).waitFor();
    await b.getByLabel("Message", { exact: true }).pressSequentially("On my way");
    await a.getByText(`${bob} is typing…`).waitFor();
    await b.getByLabel("Message", { exact: true }).press("Enter");
    await a.locator(".msg", { hasText: "On my way" }).waitFor();
    await screenshot(a, "group-room");
    // Presence: Bob sees Alice online in the member list (a replica re-reads member lists every
    // 30 s, so Alice's view of the newcomer may lag; Bob's snapshot is immediate).
    await b.getByRole("button", { name: "Members" }).click();
    await b.locator(".side-panel li", { hasText: alice }).locator(".presence", { hasText: /^online$/ }).waitFor();
    await screenshot(b, "group-members-phone");
    await b.getByRole("button", { name: "Close members" }).click();
    await screenshot(b, "group-room-phone");
  });

  await test("message search finds a message in another conversation", async () => {
    await nav(a, "Chats").click();
    const box = a.getByLabel("Search messages");
    await box.fill("REPORT to the");
    const results = a.getByRole("list", { name: "Search results" });
    const hit = results.getByRole("link", { name: new RegExp(`Bridge crew ${suffix}`) });
    await hit.waitFor();
    await a.locator("mark", { hasText: /^report to the$/ }).waitFor();
    await screenshot(a, "message-search");
    await box.fill("no such words anywhere " + suffix);
    await a.getByText("No messages found").waitFor();
    await box.fill("report to the");
    await hit.click();
    await a.waitForURL(roomUrl);
    await a.locator(".msg", { hasText: "All hands, report to the bridge" }).waitFor();
    await box.press("Escape");
    await a.getByRole("tab", { name: "Groups" }).waitFor();
  });

  await test("friend requests arrive live", async () => {
    const aliceId = await myId(a);
    await b.goto(`${origin}/people`);
    await b.getByRole("tab", { name: "Add friend" }).click();
    await b.getByLabel("User ID").fill(String(aliceId));
    await b.getByRole("button", { name: "Send friend request" }).click();
    await a.getByText(`${bob} sent you a friend request`).waitFor();
    await nav(a, "People").click();
    await a.getByRole("tab", { name: /Requests/ }).click();
    await screenshot(a, "friend-request");
    await a.getByRole("button", { name: "Accept" }).click();
    await b.getByText(`${alice} accepted your friend request`).waitFor();
    await a.getByRole("tab", { name: /Friends/ }).click();
    await a.locator("li", { hasText: bob }).getByRole("button", { name: "Message" }).click();
    await a.waitForURL(/\/chats\/\d+$/);
    await a.getByRole("heading", { name: bob }).waitFor();
    await a.getByLabel("Message", { exact: true }).fill("Welcome aboard, friend");
    await a.getByLabel("Message", { exact: true }).press("Enter");
    await a.locator(".msg.mine", { hasText: "Welcome aboard, friend" }).waitFor();
    await screenshot(a, "direct-message");
  });

  await test("servers with channels", async () => {
    await nav(a, "Servers").click();
    await a.getByRole("button", { name: "Create a server" }).click();
    await a.getByLabel("Server name").fill(`Starfleet ${suffix}`);
    await a.getByRole("button", { name: "Create", exact: true }).click();
    await a.waitForURL(/\/servers\/\d+\/\d+$/);
    await a.getByRole("heading", { name: "# general" }).waitFor();
    await a.getByRole("button", { name: "Create channel" }).click();
    await a.getByLabel("Channel name").fill("Mission Logs");
    await a.getByRole("button", { name: "Create", exact: true }).click();
    await a.getByRole("heading", { name: "# mission-logs" }).waitFor();
    await waitLive(a);
    await a.getByLabel("Message", { exact: true }).fill("Stardate 4523: all quiet");
    await a.getByLabel("Message", { exact: true }).press("Enter");
    await a.locator(".msg.mine", { hasText: "Stardate 4523" }).waitFor();
    await screenshot(a, "servers");
  });

  await test("a non-admin has no dashboard; the admin sees the usage", async () => {
    assert((await nav(a, "Admin").count()) === 0, "no admin link for users");
    const { context: ctxC, page: c } = await newPage(browser, { who: "admin" });
    await login(c, "e2eadmin", "admin-pass-123");
    await nav(c, "Admin").click();
    await c.getByText("Messages per day").waitFor();
    await c.locator(".kpi", { hasText: "Messages" }).waitFor();
    await screenshot(c, "admin-overview");
    await c.getByRole("tab", { name: "Users" }).click();
    await c.getByLabel("Search users").fill(alice);
    await c.getByRole("link", { name: alice }).click();
    await c.waitForURL(/\/admin\/users\/\d+$/);
    await c.getByText("Tokens this month").waitFor();
    const tokens = await c.locator(".kpi", { hasText: "Tokens this month" }).locator(".kpi-value").innerText();
    const messages = await c.locator(".kpi", { hasText: "Messages this month" }).locator(".kpi-value").innerText();
    log(`admin sees ${alice}: ${messages} messages, ${tokens} tokens this month`);
    assert(Number(messages.replace(/\D/g, "")) > 0, `messages this month: ${messages}`);
    // Token roll-ups are written by the llm-worker (db::stats::record_generation); the per-reply
    // counts are on the messages either way.
    if (Number(tokens.replace(/\D/g, "")) === 0) log("note: the token roll-up is 0 (llm-worker does not record generations yet)");
    const byModel = await c.locator(".chart", { hasText: "Tokens by model" }).locator(".hbar-value").first().innerText();
    assert(Number(byModel.split(" ")[0].replace(/\D/g, "")) > 0, `tokens by model: ${byModel}`);
    await c.getByRole("button", { name: new RegExp(characterName) }).first().click();
    await c.locator(".transcript", { hasText: "nebula" }).waitFor();
    await c.locator(".transcript", { hasText: /\d+ tokens/ }).waitFor();
    await screenshot(c, "admin-user");
    await c.getByRole("link", { name: "All users" }).click();
    await c.getByRole("tab", { name: "Live" }).click();
    await c.getByText("Gateway replicas").first().waitFor();
    const replicas = await c.locator(".kpi", { hasText: "Gateway replicas" }).locator(".kpi-value").innerText();
    assert(Number(replicas) >= 1, `replicas: ${replicas}`);
    await screenshot(c, "admin-live");

    // Common prompts: add two, reorder, disable one, edit one, delete one.
    await c.getByRole("tab", { name: "Prompts" }).click();
    const add = async (name, text) => {
      await c.getByLabel("Prompt name").fill(name);
      await c.getByLabel("Prompt text").fill(text);
      await c.getByRole("button", { name: "Add prompt" }).click();
      await c.getByRole("listitem", { name: `Prompt ${name}` }).waitFor();
    };
    const tone = `Tone ${suffix}`;
    const safety = `Safety ${suffix}`;
    await add(tone, "Stay in character.");
    await add(safety, "Refuse harmful requests.");
    await c.getByRole("button", { name: `Move ${safety} up` }).click();
    await c.locator(".prompt-list > li").first().filter({ hasText: safety }).waitFor();
    await c.getByRole("listitem", { name: `Prompt ${tone}` }).getByLabel("Enabled").uncheck();
    await c.getByLabel(`Text of ${safety}`).fill("Refuse harmful requests politely.");
    await c.getByRole("listitem", { name: `Prompt ${safety}` }).getByRole("button", { name: "Save" }).click();
    await c.getByRole("listitem", { name: `Prompt ${safety}` }).getByRole("button", { name: "Save" }).and(c.locator(":disabled")).waitFor();
    await screenshot(c, "admin-prompts");
    let stored = (await apiGet(c, "/prompts")).filter((p) => p.name.endsWith(suffix));
    assert(stored.map((p) => p.name).join(",") === `${safety},${tone}`, `order: ${stored.map((p) => p.name)}`);
    assert(stored[0].content === "Refuse harmful requests politely." && stored[0].is_enabled, `safety: ${JSON.stringify(stored[0])}`);
    assert(!stored[1].is_enabled, "tone disabled");
    c.once("dialog", (d) => d.accept());
    await c.getByRole("listitem", { name: `Prompt ${tone}` }).getByRole("button", { name: "Delete" }).click();
    await c.getByRole("listitem", { name: `Prompt ${tone}` }).waitFor({ state: "detached" });
    stored = (await apiGet(c, "/prompts")).filter((p) => p.name.endsWith(suffix));
    assert(stored.length === 1 && stored[0].name === safety, `after delete: ${stored.map((p) => p.name)}`);
    await ctxC.close();
  });

  await test("log out ends the session", async () => {
    await b.goto(`${origin}/chats`);
    await b.getByRole("button", { name: "Log out" }).click();
    await b.waitForURL(/\/login/);
    await b.reload();
    await b.getByRole("button", { name: "Log in" }).waitFor();
    await screenshot(b, "login-phone");
  });

  await ctxA.close();
  await ctxB.close();
  await browser.close();
}

async function page_loginScreens(page) {
  await page.goto(`${origin}/`);
  await page.waitForURL(/\/login/);
  await page.getByRole("heading", { name: "Welcome back" }).waitFor();
  await page.getByLabel("Username or e-mail").fill("nobody");
  await page.getByLabel("Password").fill("wrong-password1");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("wrong username or password").waitFor();
  await screenshot(page, "login-error");
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByRole("heading", { name: "Create your account" }).waitFor();
  await screenshot(page, "register");
}

let failed = false;
const onSignal = async () => {
  await stopSystem(false);
  process.exit(130);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
try {
  await run();
} catch (e) {
  failed = true;
  log(`setup failed: ${e?.stack ?? e}`);
} finally {
  const keep = process.env.E2E_KEEP === "1" || failed || results.some((r) => !r.ok);
  if (keep && dataDir) {
    try {
      cpSync(path.join(dataDir, "logs"), path.join(artifacts, "logs"), { recursive: true });
    } catch {
      // no logs yet
    }
  }
  await stopSystem(process.env.E2E_KEEP === "1");
}
const passed = results.filter((r) => r.ok).length;
const failures = results.length - passed;
console.log(`screenshots: ${artifacts}`);
console.log(`${passed} passed, ${failures + (failed ? 1 : 0)} failed`);
process.exit(failed || failures ? 1 : 0);
