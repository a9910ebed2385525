// Managing chats: a character one already chats with offers the existing chat or a new one;
// renaming and deleting a conversation; pinning and archiving it; in English and Korean, with axe.
import { expect, test } from "@playwright/test";
import { call, createAiChat, createCharacter, expectAccessible, nav, registerUser, signIn, unique, waitLive } from "./fixtures";

test("opening a character one already chats with offers that chat or a new one", async ({ page }) => {
  const s = await registerUser("keeper");
  const c = await createCharacter(s, unique("Pilot"));
  await signIn(page, s);
  await nav(page, "Characters").click();
  const card = page.locator("article", { hasText: c.name });
  // No chat yet: straight into a new one.
  await card.getByRole("button", { name: "Chat" }).click();
  await page.waitForURL(/\/chats\/\d+$/);
  const first = page.url();
  // Again: a dialog offers the existing chat or a new one.
  await nav(page, "Characters").click();
  await card.getByRole("button", { name: "Chat" }).click();
  const dialog = page.getByRole("dialog", { name: `You already chat with ${c.name}` });
  await expect(dialog).toBeVisible();
  await expectAccessible(page, "continue or start a chat");
  await dialog.getByRole("link").first().click();
  await page.waitForURL(first);
  // …and a new one when asked.
  await nav(page, "Characters").click();
  await card.getByRole("button", { name: "Chat" }).click();
  await page.getByRole("button", { name: "New chat" }).click();
  await page.waitForURL((u) => /\/chats\/\d+$/.test(u.pathname) && u.href !== first);
  const mine = await call<{ items: { kind: string; character_id: number | null }[] }>(s, "GET", "/conversations?limit=100");
  expect(mine.items.filter((x) => x.kind === "ai_chat" && x.character_id === c.id)).toHaveLength(2);
});

test("rename and delete a conversation from its settings", async ({ page }) => {
  const s = await registerUser("tidy");
  const c = await createCharacter(s, unique("Scribe"));
  const chat = await createAiChat(s, c.id);
  await signIn(page, s, `/chats/${chat.id}`);
  await waitLive(page);
  await page.getByRole("button", { name: "Conversation settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Conversation settings" });
  await expectAccessible(page, "conversation settings");
  const title = unique("Voyage notes");
  await dialog.getByLabel("Name").fill(title);
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole("heading", { name: title })).toBeVisible();
  await expect(page.locator(".conv", { hasText: title })).toBeVisible();

  await page.getByRole("button", { name: "Conversation settings" }).click();
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Delete conversation" }).click();
  await page.waitForURL(/\/chats$/);
  await expect(page.locator(".conv", { hasText: title })).toHaveCount(0);
  const mine = await call<{ items: { id: number }[] }>(s, "GET", "/conversations?limit=100");
  expect(mine.items.map((x) => x.id)).not.toContain(chat.id);
});

test("pin a chat to the top and archive another; the archive tab lists it and brings it back", async ({ page }) => {
  const s = await registerUser("sorter");
  const c = await createCharacter(s, unique("Clerk"));
  const older = await call<{ id: number }>(s, "PATCH", `/conversations/${(await createAiChat(s, c.id)).id}`, { title: unique("Older") });
  const newer = await call<{ id: number; title: string }>(s, "PATCH", `/conversations/${(await createAiChat(s, c.id)).id}`, { title: unique("Newer") });
  const olderTitle = (await call<{ title: string }>(s, "GET", `/conversations/${older.id}`)).title;
  await signIn(page, s, `/chats/${older.id}`);
  await waitLive(page);
  const titles = () => page.locator(".conv-list .conv strong").allInnerTexts();
  await expect.poll(titles).toEqual([newer.title, olderTitle]);

  // Pin the older one: it leads the list, marked as pinned.
  await page.getByRole("button", { name: "Conversation settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Conversation settings" });
  await dialog.getByRole("button", { name: "Pin to the top" }).click();
  await expect(dialog.getByRole("button", { name: "Unpin" })).toHaveAttribute("aria-pressed", "true");
  await expectAccessible(page, "pinned in the settings");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect.poll(titles).toEqual([olderTitle, newer.title]);
  await expect(page.locator(".conv", { hasText: olderTitle }).getByRole("img", { name: "Pinned" })).toBeVisible();
  // New activity elsewhere does not pass a pinned chat.
  await call(s, "POST", `/conversations/${newer.id}/messages`, { content: "still below the pin" });
  await expect(page.locator(".conv", { hasText: newer.title })).toContainText("still below the pin");
  await expect.poll(titles).toEqual([olderTitle, newer.title]);

  // Archive it: it leaves the list for the archive tab, and comes back from there.
  await page.getByRole("button", { name: "Conversation settings" }).click();
  await dialog.getByRole("button", { name: "Archive", exact: true }).click();
  await expect(dialog.getByRole("button", { name: "Move back from the archive" })).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect.poll(titles).toEqual([newer.title]);
  await page.getByRole("tab", { name: "Archived" }).click();
  await expect.poll(titles).toEqual([olderTitle]);
  await page.getByRole("button", { name: "Conversation settings" }).click();
  await dialog.getByRole("button", { name: "Move back from the archive" }).click();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect.poll(titles).toEqual([]);
  await page.getByRole("tab", { name: "All" }).click();
  await expect.poll(titles).toEqual([newer.title, olderTitle]);
  const listed = await call<{ items: { id: number; pinned: boolean; archived: boolean }[] }>(s, "GET", "/conversations?limit=100");
  expect(listed.items.find((x) => x.id === older.id)).toMatchObject({ pinned: false, archived: false });
});

test("the settings dialog in Korean", async ({ page }) => {
  const s = await registerUser("hangul");
  const c = await createCharacter(s, unique("Sage"));
  const chat = await createAiChat(s, c.id);
  await page.addInitScript(() => localStorage.setItem("chat.lang", "ko"));
  await signIn(page, s, `/chats/${chat.id}`);
  await page.getByRole("button", { name: "대화 설정" }).click();
  const dialog = page.getByRole("dialog", { name: "대화 설정" });
  await expect(dialog.getByRole("button", { name: "대화 삭제" })).toBeVisible();
  await expect(dialog.getByLabel("이름")).toHaveValue(chat.title);
  await expect(dialog.getByRole("button", { name: "맨 위에 고정" })).toBeVisible();
  await expect(dialog.getByRole("button", { name: "보관", exact: true })).toBeVisible();
  await expectAccessible(page, "conversation settings in Korean");
});

test("server and channel settings: rename, new invite code, rename and delete a channel; members see no settings", async ({ page, browser }) => {
  const owner = await registerUser("owner");
  const member = await registerUser("member");
  const sv = await call<{ id: number; invite_code: string; channels: { id: number; title: string }[] }>(owner, "POST", "/servers", { name: unique("Fleet"), description: "", visibility: "private" });
  await call(member, "POST", "/servers/join", { invite_code: sv.invite_code });
  const logs = await call<{ id: number }>(owner, "POST", `/servers/${sv.id}/channels`, { name: "logs" });

  await signIn(page, owner, `/servers/${sv.id}/${logs.id}`);
  await expect(page.getByRole("heading", { name: "# logs" })).toBeVisible();
  // The server: a new name and a new invite code.
  await page.getByRole("button", { name: "Server settings" }).click();
  let dialog = page.getByRole("dialog");
  await expectAccessible(page, "server settings");
  const name = unique("Armada");
  await dialog.getByLabel("Server name").fill(name);
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(page.locator(".pane-head h2")).toHaveText(name);
  await page.getByRole("button", { name: "Server settings" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "New invite code" }).click();
  await expect(page.locator(".server-info code")).not.toHaveText(sv.invite_code);
  // The channel: renamed, then deleted.
  await page.getByRole("button", { name: "Channel settings" }).click();
  dialog = page.getByRole("dialog");
  await dialog.getByLabel("Channel name").fill("captains log");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { name: "# captains-log" })).toBeVisible();
  await page.getByRole("button", { name: "Channel settings" }).click();
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("dialog").getByRole("button", { name: "Delete channel" }).click();
  await expect(page.getByRole("link", { name: "# captains-log" })).toHaveCount(0);
  const after = await call<{ channels: { id: number }[] }>(owner, "GET", `/servers/${sv.id}`);
  expect(after.channels.map((c) => c.id)).not.toContain(logs.id);

  // A plain member sees neither button.
  const ctx = await browser.newContext();
  const other = await ctx.newPage();
  await signIn(other, member, `/servers/${sv.id}/${sv.channels[0].id}`);
  await expect(other.getByRole("heading", { name: `# ${sv.channels[0].title}` })).toBeVisible();
  await expect(other.getByRole("button", { name: "Server settings" })).toHaveCount(0);
  await expect(other.getByRole("button", { name: "Channel settings" })).toHaveCount(0);
  await ctx.close();
});
