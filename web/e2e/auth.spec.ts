import { expect, test } from "@playwright/test";
import { PASSWORD, createAiChat, createCharacter, expectAccessible, registerUser, revokeSession, screenshot, signIn, unique, waitLive } from "./fixtures";

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
  await revokeSession(page);
  await page.getByRole("button", { name: "Regenerate" }).click();
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
