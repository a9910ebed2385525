import { expect, test } from "@playwright/test";
import { PASSWORD, createAiChat, createCharacter, expectAccessible, nav, registerUser, revokeSession, revokeSessionWhileAway, screenshot, signIn, unique, waitLive } from "./fixtures";

test("login errors, then register and land in the app", async ({ page }) => {
  await page.goto("/");
  await page.waitForURL(/\/login/);
  await expect(page.getByRole("heading", { name: "Welcome back" })).toBeVisible();
  await page.getByLabel("Username or e-mail").fill("nobody");
  await page.getByLabel("Password").fill("wrong-password1");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByText("wrong username or password")).toBeVisible();
  await expectAccessible(page, "login");
  await screenshot(page, "login-error");
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page.getByRole("heading", { name: "Create your account" })).toBeVisible();
  await expectAccessible(page, "register");
  const name = unique("alice");
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("E-mail").fill(`${name}@example.com`);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/chats$/);
  await expect(page.getByRole("heading", { name: "Chats" })).toBeVisible();
  await waitLive(page);
  await expectAccessible(page, "chats (empty)");
});

test("log out ends the session", async ({ page }) => {
  const s = await registerUser("bob");
  await signIn(page, s);
  await waitLive(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/\/login/);
  await page.reload();
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  expect(await page.evaluate(() => localStorage.getItem("chat.session"))).toBeNull();
});

test("an expired session asks for the password and keeps what was typed", async ({ page }) => {
  const s = await registerUser("carol");
  const c = await createCharacter(s, "Captain Draft");
  const conv = await createAiChat(s, c.id);
  await signIn(page, s, `/chats/${conv.id}`);
  await waitLive(page);
  const box = page.getByLabel("Message", { exact: true });
  await box.fill("typed before the session ended");
  // Logout ends the session everywhere: the gateway closes this tab's socket (4401) and the app
  // asks for the password at once, without waiting for its next request.
  await revokeSession(page);
  const dialog = page.getByRole("dialog", { name: "Your session has expired" });
  await expect(dialog).toBeVisible();
  await expect(box).toHaveValue("typed before the session ended");
  await screenshot(page, "session-expired");
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Log in" }).click();
  await expect(dialog).toBeHidden();
  await waitLive(page);
  await box.press("Enter");
  await expect(page.locator(".msg.mine", { hasText: "typed before the session ended" })).toBeVisible();
});

// Issue 13, item 15: every view recovers after logging in again, without a reload.
test("after the session ends and the user logs in again, the chat list and the open chat load", async ({ page }) => {
  const s = await registerUser("dave");
  const c = await createCharacter(s, "Captain Return", { greeting: "Back so soon, {{user}}?" });
  const conv = await createAiChat(s, c.id);
  const other = await createAiChat(s, (await createCharacter(s, "Second Mate")).id);
  const list = page.getByRole("complementary", { name: "Conversations" });
  const openChat = page.getByRole("region", { name: /^Conversation / });

  // 1. In the app: the session ends while the user is elsewhere; then they come back to the chats.
  await signIn(page, s, "/characters");
  await waitLive(page);
  await revokeSession(page);
  const dialog = page.getByRole("dialog", { name: "Your session has expired" });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Log in" }).click();
  await expect(dialog).toBeHidden();
  await nav(page, "Chats").click();
  await expect(list.getByRole("link", { name: /Captain Return/ })).toBeVisible();
  await expect(list.getByRole("link", { name: /Second Mate/ })).toBeVisible();
  await expect(page.getByRole("alert")).toHaveCount(0);

  // 2. The tab is reopened on a conversation with a session that ended meanwhile.
  await page.goto(`/chats/${other.id}`);
  await waitLive(page);
  await revokeSessionWhileAway(page);
  await page.goto(`/chats/${conv.id}`);
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Log in" }).click();
  await expect(dialog).toBeHidden();
  await expect(openChat.locator(".messages")).toContainText(`Back so soon, ${s.user.username}?`);
  await expect(list.getByRole("link", { name: /Captain Return/ })).toBeVisible();
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expect(page.getByText(/invalid access token/i)).toHaveCount(0);
  await waitLive(page);
  // And the chat works: a message goes out and the reply comes back.
  await page.getByLabel("Message", { exact: true }).fill("still here");
  await page.getByLabel("Message", { exact: true }).press("Enter");
  await expect(openChat.locator(".msg.ai", { hasText: "still here" })).toBeVisible({ timeout: 30_000 });
});
