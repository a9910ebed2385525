// What a message shows: who wrote it (a person by the name the members panel uses, an AI
// character by its name to every member of a room, even when the card is private to its owner),
// and code blocks highlighted without letting hostile content run.
import { expect, test } from "@playwright/test";
import { call, createCharacter, expectAccessible, registerUser, signIn, unique, waitLive } from "./fixtures";

test("an AI character in a room shows with its name to every member; people with their display names", async ({ page }) => {
  const kirk = await registerUser("kirk");
  const spock = await registerUser("spock");
  await call(kirk, "PATCH", "/users/me", { display_name: "Captain Kirk" });
  // Private: only kirk can read the card.
  const guide = await createCharacter(kirk, unique("Guide"), { visibility: "private" });
  const room = await call<{ id: number }>(kirk, "POST", "/conversations", { kind: "group", title: unique("Bridge"), description: "", visibility: "public" });
  await call(spock, "POST", `/conversations/${room.id}/join`);
  await call(kirk, "POST", `/conversations/${room.id}/characters`, { character_id: guide.id });
  await call(kirk, "POST", `/conversations/${room.id}/messages`, { content: `${guide.name}, what lies ahead?` });

  await signIn(page, spock, `/chats/${room.id}`);
  await waitLive(page);
  const reply = page.locator(".msg.ai").last();
  await expect(reply.locator(".author")).toHaveText(guide.name, { timeout: 30_000 });
  await expect(page.locator(".msg.ai .author", { hasText: /^AI$/ })).toHaveCount(0);
  // Kirk by his display name in his message, as in the members panel.
  const asked = page.locator(".msg", { hasText: "what lies ahead" });
  await expect(asked.locator(".author")).toHaveText("Captain Kirk");
  await page.getByRole("button", { name: "Members" }).click();
  await expect(page.locator(".side-panel").getByText("Captain Kirk")).toBeVisible();
  // The same avatar colour in the message and in the panel.
  const colour = async (scope: ReturnType<typeof page.locator>) => scope.locator(".avatar").first().evaluate((e) => getComputedStyle(e).backgroundColor);
  const inPanel = page.locator(".side-panel li", { hasText: "Captain Kirk" });
  expect(await colour(asked)).toBe(await colour(inPanel));
  await expectAccessible(page, "a room with an AI character");
});

test("code blocks are highlighted, links clickable, hostile code inert", async ({ page }) => {
  const kirk = await registerUser("kirk");
  const room = await call<{ id: number }>(kirk, "POST", "/conversations", { kind: "group", title: unique("Code"), description: "", visibility: "private" });
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await call(kirk, "POST", `/conversations/${room.id}/messages`, { content: "See https://example.com/docs\n\n```rust\nfn main() { println!(\"hi\"); }\n```" });
  await call(kirk, "POST", `/conversations/${room.id}/messages`, {
    content: "```html\n</code></pre><img src=x onerror=\"alert('code')\"><script>alert('code')</script>\n```\n```\"><svg onload=alert(1)>\nplain\n```",
  });
  await signIn(page, kirk, `/chats/${room.id}`);
  const code = page.locator(".msg .md pre code.language-rust");
  await expect(code.locator(".hljs-keyword").first()).toHaveText("fn");
  await expect(code).toContainText('println!("hi");');
  const link = page.locator(".msg .md a", { hasText: "https://example.com/docs" });
  await expect(link).toHaveAttribute("href", "https://example.com/docs");
  await expect(link).toHaveAttribute("target", "_blank");
  const hostile = page.locator(".msg", { hasText: "onerror" });
  await expect(hostile.locator("pre code.language-html")).toContainText("<script>alert('code')</script>");
  await expect(page.locator(".messages img, .messages script, .messages svg[onload], .messages [onerror]")).toHaveCount(0);
  await page.waitForTimeout(500);
  expect(dialogs).toEqual([]);
  await expectAccessible(page, "highlighted code");
});
