// A phone 360 px wide: the composer takes the bottom in a conversation, message actions by tap.
import { expect, test } from "@playwright/test";
import { createAiChat, createCharacter, expectAccessible, registerUser, screenshot, signIn, waitLive } from "./fixtures";

test.use({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });

test("at 360 px: list, conversation without the bottom nav, tap to edit, back to the list", async ({ page }) => {
  const s = await registerUser("phone");
  const conv = await createAiChat(s, (await createCharacter(s, "Pocket Captain")).id);
  await signIn(page, s, "/chats");
  await waitLive(page);
  const rail = page.getByRole("navigation", { name: "Main" });
  await expect(rail).toBeVisible();
  await expect(page.getByRole("link", { name: /Pocket Captain/ })).toBeVisible();
  await expectAccessible(page, "chat list (phone)");
  await page.getByRole("link", { name: /Pocket Captain/ }).tap();
  await page.waitForURL(new RegExp(`/chats/${conv.id}$`));

  // In the conversation the bottom navigation gives way to the composer.
  await expect(rail).toBeHidden();
  const box = page.getByLabel("Message", { exact: true });
  await expect(box).toBeVisible();
  const boxBottom = await box.evaluate((el) => el.getBoundingClientRect().bottom);
  expect(boxBottom).toBeLessThanOrEqual(740);
  expect(boxBottom).toBeGreaterThan(740 - 120);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);

  await box.fill("Hello from a small screen");
  await page.getByRole("button", { name: "Send" }).tap();
  const mine = page.locator(".msg.mine", { hasText: "Hello from a small screen" });
  await expect(mine).toBeVisible();
  await page.locator('[data-streaming="true"]').waitFor({ state: "detached", timeout: 30_000 });
  // No hover on a phone: a tap on the message reaches its actions.
  await mine.locator(".text").tap();
  await mine.getByRole("button", { name: "Edit message" }).tap();
  await page.getByRole("textbox", { name: "Edit message" }).fill("Hello from a 360 px screen");
  await page.getByRole("button", { name: "Save", exact: true }).tap();
  await expect(page.locator(".msg.mine", { hasText: "Hello from a 360 px screen" })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  await expectAccessible(page, "conversation (phone)");
  await screenshot(page, "phone-conversation");

  await page.getByRole("button", { name: "Back to the list" }).tap();
  await page.waitForURL(/\/chats$/);
  await expect(rail).toBeVisible();
});
