// A conversation as a tree in the browser: greetings offered as versions, regenerate and swipe
// back, continue, edit of an AI reply, save and rerun with branch navigation, branch from here,
// and an accessibility check of the controls.
import { expect, test, type Page } from "@playwright/test";
import { call, createAiChat, createCharacter, expectAccessible, messageTexts, registerUser, signIn, waitLive, type Session } from "./fixtures";

test.describe.configure({ mode: "serial" });

let page: Page;
let s: Session;
let convId = 0;

test.beforeAll(async ({ browser }) => {
  s = await registerUser("tree");
  const c = await createCharacter(s, "Mira", { greeting: "First hello.", alternate_greetings: ["Second hello.", "Third hello."] });
  convId = (await createAiChat(s, c.id)).id;
  page = await (await browser.newContext()).newPage();
  await signIn(page, s, `/chats/${convId}`);
});

test.afterAll(async () => {
  await page.context().close();
});

const streaming = () => page.locator('[data-streaming="true"]');
const composer = () => page.getByLabel("Message", { exact: true });
const lastAi = () => page.locator(".msg.ai").last();
const settle = () => streaming().waitFor({ state: "detached", timeout: 30_000 });

test("a new chat offers the card's greetings as versions", async () => {
  await expect(page.locator(".messages").getByText("First hello.")).toBeVisible();
  await waitLive(page);
  const nav = lastAi().getByRole("group", { name: "Version 1 of 3" });
  await expect(nav).toBeVisible();
  await expect(nav.getByText("1/3")).toBeVisible();
  await lastAi().getByRole("button", { name: "Next version" }).click();
  await expect(page.locator(".messages").getByText("Second hello.")).toBeVisible();
  await expect(lastAi().getByText("2/3")).toBeVisible();
  // ← → on the page (not in the composer) flip the last turn.
  await page.locator(".messages").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("ArrowRight");
  await expect(page.locator(".messages").getByText("Third hello.")).toBeVisible();
  await page.keyboard.press("ArrowLeft");
  await expect(page.locator(".messages").getByText("Second hello.")).toBeVisible();
  // The choice is stored: a reload shows it.
  await page.reload();
  await expect(page.locator(".messages").getByText("Second hello.")).toBeVisible();
  await expect(lastAi().getByText("2/3")).toBeVisible();
});

test("regenerate adds a version; swiping back shows the first reply", async () => {
  await waitLive(page);
  await composer().fill("Tell me about the lighthouse");
  await composer().press("Enter");
  await streaming().waitFor();
  await settle();
  const first = (await messageTexts(page)).at(-1)!;
  expect(first).toContain("lighthouse");
  // Right past the last (only) version writes a new one.
  await lastAi().getByRole("button", { name: "Write another version" }).click();
  await expect(lastAi().getByText("2/2")).toBeVisible();
  await settle();
  await expect(lastAi().getByText("2/2")).toBeVisible();
  await lastAi().getByRole("button", { name: "Previous version" }).click();
  await expect(lastAi().getByText("1/2")).toBeVisible();
  await expect.poll(async () => (await messageTexts(page)).at(-1)).toBe(first);
  // Still one reply under the message, not two.
  expect((await messageTexts(page)).filter((t) => t.includes("lighthouse") && t !== "Tell me about the lighthouse").length).toBe(1);
});

test("continue streams more text onto the last reply", async () => {
  const before = (await messageTexts(page)).at(-1)!;
  const count = (await messageTexts(page)).length;
  await lastAi().hover();
  await lastAi().getByRole("button", { name: "Continue" }).click();
  await settle();
  await expect.poll(async () => (await messageTexts(page)).at(-1)!.length).toBeGreaterThan(before.length);
  const after = await messageTexts(page);
  expect(after).toHaveLength(count);
  expect(after.at(-1)!.startsWith(before.slice(0, 20))).toBe(true);
});

test("the owner edits an AI reply", async () => {
  await lastAi().hover();
  await lastAi().getByRole("button", { name: "Edit reply" }).click();
  await page.getByRole("textbox", { name: "Edit message" }).fill("An edited reply.");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(lastAi().getByText("An edited reply.")).toBeVisible();
});

test("save and rerun starts a branch; the fork indicator switches between them", async () => {
  const mine = page.locator(".msg.mine", { hasText: "Tell me about the lighthouse" });
  await mine.click();
  await mine.getByRole("button", { name: "Edit message" }).click();
  await page.getByRole("textbox", { name: "Edit message" }).fill("Tell me about the harbour");
  await page.getByRole("button", { name: "Save and rerun" }).click();
  await expect(page.getByRole("textbox", { name: "Edit message" })).toHaveCount(0);
  await expect(page.locator(".msg.mine", { hasText: "lighthouse" })).toHaveCount(0);
  const edited = page.locator(".msg.mine", { hasText: "Tell me about the harbour" });
  await expect(edited).toBeVisible();
  await settle();
  await expect.poll(async () => (await messageTexts(page)).at(-1)).toContain("harbour");
  await expect(edited.getByText("2/2")).toBeVisible();
  // The old branch is still there, with its edited reply.
  await edited.getByRole("button", { name: "Previous version" }).click();
  await expect(page.locator(".msg.mine", { hasText: "Tell me about the lighthouse" })).toBeVisible();
  // (Which version of its reply comes back is the server's choice of leaf.)
  await expect.poll(async () => (await messageTexts(page)).at(-1)).toMatch(/lighthouse|An edited reply\./);
  await expect(page.locator(".messages").getByText("Tell me about the harbour")).toHaveCount(0);
  await expectAccessible(page, "conversation tree");
});

test("branch from here opens a new chat with the path up to the message", async () => {
  const mine = page.locator(".msg.mine", { hasText: "Tell me about the lighthouse" });
  await mine.click();
  await mine.getByRole("button", { name: "Branch from here" }).click();
  await expect(page).not.toHaveURL(new RegExp(`/chats/${convId}$`));
  await expect(page).toHaveURL(/\/chats\/\d+$/);
  await expect(page.locator(".msg.mine", { hasText: "Tell me about the lighthouse" })).toBeVisible();
  await expect(page.locator(".msg.ai", { hasText: "lighthouse" })).toHaveCount(0);
  const id = Number(page.url().split("/").pop());
  const conv = await call<{ origin_conversation_id: number }>(s, "GET", `/conversations/${id}`);
  expect(conv.origin_conversation_id).toBe(convId);
});

test("on a phone the versions and actions work by tap", async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });
  const p = await ctx.newPage();
  await signIn(p, s, `/chats/${convId}`);
  const ai = p.locator(".msg.ai").last();
  await expect(ai.getByRole("button", { name: "Continue" })).toBeVisible();
  await expect(ai.getByRole("button", { name: "Write another version" })).toBeVisible();
  const box = await ai.getByRole("button", { name: "Branch from here" }).boundingBox();
  expect(box && box.x + box.width).toBeLessThanOrEqual(360);
  await ctx.close();
});
