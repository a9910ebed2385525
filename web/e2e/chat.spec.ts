// One AI conversation, walked through in order: streaming, the counter, reload, stop and
// regenerate, edit and delete, and a gateway restart in the middle of a reply.
import { expect, test, type Page } from "@playwright/test";
import { call, createAiChat, createCharacter, expectAccessible, messageTexts, registerUser, screenshot, signIn, waitLive, words, type Session } from "./fixtures";
import { ports, startService, stopService, waitReady } from "./system";

test.describe.configure({ mode: "serial" });

let page: Page;
let s: Session;
let chatUrl = "";
const characterName = "Captain Nova";

test.beforeAll(async ({ browser }) => {
  s = await registerUser("alice");
  const c = await createCharacter(s, characterName, { greeting: "Welcome aboard, {{user}}! I'm {{char}}." });
  const conv = await createAiChat(s, c.id);
  chatUrl = `/chats/${conv.id}`;
  page = await (await browser.newContext()).newPage();
  await signIn(page, s, chatUrl);
});

test.afterAll(async () => {
  await page.context().close();
});

const streaming = () => page.locator('[data-streaming="true"]');
const composer = () => page.getByLabel("Message", { exact: true });

test("chat with the character and watch the reply stream in", async () => {
  await expect(page.locator(".messages").getByText(`Welcome aboard, ${s.user.username}! I'm ${characterName}.`)).toBeVisible();
  await waitLive(page);
  await composer().fill("Tell me about the nebula ahead");
  await expect(page.locator(".counter", { hasText: "30 / 2000" })).toBeVisible();
  await composer().press("Enter");
  await streaming().waitFor();
  await page.waitForFunction(() => (document.querySelector('[data-streaming="true"] .text')?.textContent ?? "").length > 20);
  const partial = words(await streaming().locator(".text").innerText());
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await screenshot(page, "chat-streaming");
  await streaming().waitFor({ state: "detached", timeout: 30_000 });
  const texts = await messageTexts(page);
  const reply = texts[texts.length - 1];
  expect(reply).toContain("You said");
  expect(reply).toContain("nebula");
  expect(reply.startsWith(partial.slice(0, 10)), "the streamed text is the beginning of the reply").toBe(true);
  // The mock's roleplay action is shown as emphasis.
  await expect(page.locator(".msg.ai .text em", { hasText: "tilts head thoughtfully" }).last()).toBeVisible();
  expect(texts.filter((t) => t === reply)).toHaveLength(1);
  await expect(page.getByRole("button", { name: "Regenerate" })).toBeEnabled();
  await expectAccessible(page, "conversation");
});

test("the character counter enforces the limit", async () => {
  await composer().fill("x".repeat(2001));
  await expect(page.locator(".counter.over", { hasText: "2001 / 2000" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  await composer().fill("");
});

test("reload keeps the session, the history and the draft", async () => {
  const before = await messageTexts(page);
  await composer().fill("a draft survives the reload");
  await page.reload();
  await expect(page.locator(".messages").getByText(`Welcome aboard, ${s.user.username}!`, { exact: false })).toBeVisible();
  await expect.poll(() => messageTexts(page)).toEqual(before);
  await expect(composer()).toHaveValue("a draft survives the reload");
  await composer().fill("");
});

test("stop and regenerate a reply", async () => {
  await waitLive(page);
  await composer().fill("Please tell a very long story about the stars and the ships and the sea");
  await composer().press("Enter");
  await streaming().waitFor();
  await page.getByRole("button", { name: "Stop" }).click();
  await streaming().waitFor({ state: "detached", timeout: 30_000 });
  await expect(page.locator(".msg.ai", { hasText: "stopped" }).last()).toBeVisible();
  await page.getByRole("button", { name: "Regenerate" }).click();
  await streaming().waitFor();
  await streaming().waitFor({ state: "detached", timeout: 30_000 });
  const texts = await messageTexts(page);
  expect(texts[texts.length - 1]).toContain("You said");
});

test("edit and delete an own message", async () => {
  await composer().fill("a message with a tpyo");
  await composer().press("Enter");
  const mine = page.locator(".msg.mine", { hasText: "a message with a tpyo" });
  await mine.waitFor();
  await streaming().waitFor({ state: "detached", timeout: 30_000 });
  await mine.hover();
  await mine.getByRole("button", { name: "Edit message" }).click();
  await page.getByRole("textbox", { name: "Edit message" }).fill("a message with a typo fixed");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const fixed = page.locator(".msg.mine", { hasText: "a message with a typo fixed" });
  await expect(fixed.getByText("edited")).toBeVisible();
  page.once("dialog", (d) => d.accept());
  await fixed.hover();
  await fixed.getByRole("button", { name: "Delete message" }).click();
  await fixed.waitFor({ state: "detached" });
});

test("resume after the gateway restarts mid-reply: no lost or doubled text", async () => {
  await page.goto(chatUrl);
  await waitLive(page);
  expect(await stopService("chat-gateway"), "the gateway drains and exits on SIGTERM (no SIGKILL needed)").toBe(true);
  await page.locator(".conn-reconnecting").waitFor();
  await composer().fill("Are you still there after the storm");
  await composer().press("Enter");
  await page.locator(".msg.mine", { hasText: "Are you still there after the storm" }).waitFor();
  await page.waitForTimeout(1500); // the reply streams while the socket is down
  startService("chat-gateway");
  await waitReady("chat-gateway", ports.gateway);
  await waitLive(page);
  await page.waitForFunction(() => !document.querySelector('[data-streaming="true"]'), null, { timeout: 30_000 });
  const id = Number(chatUrl.split("/").pop());
  // The stored conversation and the screen agree (the reply row completes a moment after the
  // last delta, so both are read again until they do).
  const storedTexts = async () =>
    (await call<{ items: { content: string; deleted_at: string | null }[] }>(s, "GET", `/conversations/${id}/messages?limit=100`)).items
      .filter((m) => !m.deleted_at)
      .map((m) => words(m.content));
  await expect
    .poll(async () => {
      const [stored, shown] = await Promise.all([storedTexts(), messageTexts(page)]);
      return { same: JSON.stringify(stored) === JSON.stringify(shown), last: stored[stored.length - 1] };
    }, { timeout: 20_000 })
    .toEqual({ same: true, last: expect.stringContaining("after the storm") });
  const shown = await messageTexts(page);
  expect(shown[shown.length - 1], "the reply made during the outage is complete").toContain("after the storm");
  await screenshot(page, "chat-after-resume");
});

test("Enter while a Korean syllable is being composed does not send; Enter after it does", async () => {
  await waitLive(page);
  await composer().fill("안녕하세요 선장님");
  // The keydown an input method sends for Enter while composing (isComposing, keyCode 229 in
  // Chromium): it finishes the syllable and must not send the half-typed message.
  await composer().evaluate((el) => {
    el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", code: "Enter", isComposing: true, bubbles: true, cancelable: true }));
  });
  await page.waitForTimeout(700);
  await expect(page.locator(".msg.mine", { hasText: "안녕하세요 선장님" })).toHaveCount(0);
  await expect(composer()).toHaveValue("안녕하세요 선장님");
  await composer().press("Enter");
  await expect(page.locator(".msg.mine", { hasText: "안녕하세요 선장님" })).toBeVisible();
  await expect(composer()).toHaveValue("");
  await streaming().waitFor({ state: "detached", timeout: 30_000 });
});

test("messages render Markdown; hostile content stays inert", async () => {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const hostile = [
    "*waves at the crew* see [the log](https://example.com/log) and **this**",
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'onerror'\">",
    "[click me](javascript:window.__pwned='link') <a href=\"javascript:alert(1)\">raw</a>",
    "<iframe src=\"javascript:alert(2)\"></iframe><b onmouseover=\"alert(3)\">hover</b>",
  ].join("\n\n");
  await composer().fill(hostile);
  await composer().press("Enter");
  const mine = page.locator(".msg.mine", { hasText: "waves at the crew" }).last();
  await expect(mine).toBeVisible();
  // The AI echoes the text too: both bubbles are checked.
  await streaming().waitFor({ state: "detached", timeout: 30_000 });
  const reply = page.locator(".msg.ai", { hasText: "waves at the crew" }).last();
  await expect(reply).toBeVisible();
  for (const bubble of [mine, reply]) {
    await expect(bubble.locator("em", { hasText: "waves at the crew" })).toBeVisible();
    const link = bubble.getByRole("link", { name: "the log" });
    await expect(link).toHaveAttribute("href", "https://example.com/log");
    await expect(link).toHaveAttribute("target", "_blank");
    await expect(link).toHaveAttribute("rel", /noopener/);
    await expect(bubble.locator("script, img, iframe, b[onmouseover], [onerror]")).toHaveCount(0);
    await expect(bubble.locator('a[href^="javascript"]')).toHaveCount(0);
    // The raw HTML is shown as the text it is.
    await expect(bubble.locator(".text")).toContainText("<script>window.__pwned = 'script'</script>");
  }
  await bubbleHover(page, mine);
  await mine.getByText("click me").click();
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned ?? null)).toBeNull();
  expect(dialogs).toEqual([]);
  await screenshot(page, "chat-markdown");
});

async function bubbleHover(p: Page, l: ReturnType<Page["locator"]>) {
  await l.scrollIntoViewIfNeeded();
  await l.hover();
  await p.waitForTimeout(50);
}
