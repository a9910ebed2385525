// Reading a conversation: one author's consecutive messages grouped under one name and avatar,
// a date separator above each day's first message, in the user's language.
import { expect, test } from "@playwright/test";
import { call, expectAccessible, registerUser, signIn, unique } from "./fixtures";

test("consecutive messages from one author are grouped, below a date separator", async ({ page }) => {
  const kirk = await registerUser("kirk");
  const spock = await registerUser("spock");
  const room = await call<{ id: number }>(kirk, "POST", "/conversations", { kind: "group", title: unique("Bridge"), description: "", visibility: "public" });
  await call(spock, "POST", `/conversations/${room.id}/join`);
  const say = (who: typeof kirk, content: string) => call(who, "POST", `/conversations/${room.id}/messages`, { content });
  await say(kirk, "Status report");
  await say(kirk, "Shields at forty percent");
  await say(spock, "Fascinating");
  await say(kirk, "Engage");

  await signIn(page, spock, `/chats/${room.id}`);
  const bubble = (text: string) => page.locator(".msg", { hasText: text });
  await expect(bubble("Status report").locator(".author")).toHaveText(kirk.user.username);
  // The second of kirk's run: no name or avatar of its own.
  await expect(bubble("Shields at forty percent")).toHaveClass(/\bgrouped\b/);
  await expect(bubble("Shields at forty percent").locator(".author")).toHaveCount(0);
  await expect(bubble("Shields at forty percent").locator(".avatar")).toHaveCount(0);
  // Spock's own message in between; kirk's next one starts a new group.
  await expect(bubble("Fascinating")).toHaveClass(/\bmine\b/);
  await expect(bubble("Engage").locator(".author")).toHaveText(kirk.user.username);
  await expect(bubble("Engage")).not.toHaveClass(/\bgrouped\b/);
  // Everything was written today: one separator, above the first message.
  await expect(page.locator(".day-separator")).toHaveCount(1);
  await expect(page.locator(".day-separator")).toHaveText("Today");
  await expect(page.locator(".messages .msg-row :is(.day-separator, .msg)").first()).toHaveClass(/\bday-separator\b/);
  await expectAccessible(page, "grouped messages");
});
