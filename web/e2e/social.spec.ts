// Two people: a group room with live messages, typing and presence; message search; friend
// requests; servers with channels.
import { expect, test, type Page } from "@playwright/test";
import { expectAccessible, nav, registerUser, screenshot, signIn, unique, waitLive, type Session } from "./fixtures";

test.describe.configure({ mode: "serial" });

let a: Page;
let b: Page;
let alice: Session;
let bob: Session;
let roomUrl = "";
const room = unique("Bridge crew");

test.beforeAll(async ({ browser }) => {
  alice = await registerUser("alice");
  bob = await registerUser("bob");
  a = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  b = await (await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark" })).newPage();
  await signIn(a, alice);
  await signIn(b, bob);
  await Promise.all([waitLive(a), waitLive(b)]);
});

test.afterAll(async () => {
  await a.context().close();
  await b.context().close();
});

test("group room: a second user sees messages, typing and presence live", async () => {
  await a.getByRole("button", { name: "Group" }).click();
  await a.getByLabel("Name").fill(room);
  await a.getByLabel("Description").fill("Everyone on deck");
  await a.getByRole("button", { name: "Create", exact: true }).click();
  await a.waitForURL(/\/chats\/\d+$/);
  roomUrl = a.url();
  await a.getByRole("button", { name: "Members" }).click();
  await a.getByLabel("Invite by user ID").fill(String(bob.user.id));
  await a.getByRole("button", { name: "Invite" }).click();
  await expect(a.locator(".side-panel", { hasText: bob.user.username })).toBeVisible();
  // Bob's list learns about the room from his user channel.
  await b.getByRole("link", { name: new RegExp(room) }).click({ timeout: 20_000 });
  await b.waitForURL(/\/chats\/\d+$/);
  await waitLive(b);
  await b.getByLabel("Message", { exact: true }).waitFor();
  await b.waitForTimeout(500);
  await a.getByLabel("Message", { exact: true }).fill("All hands, report to the bridge");
  await a.getByLabel("Message", { exact: true }).press("Enter");
  await expect(b.locator(".msg", { hasText: "All hands, report to the bridge" })).toBeVisible();
  await b.getByLabel("Message", { exact: true }).pressSequentially("On my way");
  await expect(a.getByText(`${bob.user.username} is typing…`)).toBeVisible();
  await b.getByLabel("Message", { exact: true }).press("Enter");
  await expect(a.locator(".msg", { hasText: "On my way" })).toBeVisible();
  await screenshot(a, "group-room");
  // Presence: Bob sees Alice online in the member list.
  await b.getByRole("button", { name: "Members" }).click();
  await expect(b.locator(".side-panel li", { hasText: alice.user.username }).locator(".presence", { hasText: /^online$/ })).toBeVisible();
  await expectAccessible(b, "group members (phone)");
  await b.getByRole("button", { name: "Close members" }).click();
});

test("message search finds a message in another conversation", async () => {
  await nav(a, "Chats").click();
  const box = a.getByLabel("Search messages");
  await box.fill("REPORT to the");
  const hit = a.getByRole("list", { name: "Search results" }).getByRole("link", { name: new RegExp(room) });
  await expect(hit).toBeVisible();
  await expect(a.locator("mark", { hasText: /^report to the$/ })).toBeVisible();
  await box.fill(`no such words anywhere ${room}`);
  await expect(a.getByText("No messages found")).toBeVisible();
  await box.fill("report to the");
  await hit.click();
  // Opened at the hit (`?m=<id>`), which is marked.
  await a.waitForURL((u) => u.href.startsWith(`${roomUrl}?m=`));
  await expect(a.locator(".msg.hit", { hasText: "All hands, report to the bridge" })).toBeVisible();
  await box.press("Escape");
  await expect(a.getByRole("tab", { name: "Groups" })).toBeVisible();
});

test("friend requests arrive live", async () => {
  await b.goto("/people");
  await b.getByRole("tab", { name: "Add friend" }).click();
  await b.getByLabel("User ID").fill(String(alice.user.id));
  await b.getByRole("button", { name: "Send friend request" }).click();
  await expect(a.getByText(`${bob.user.username} sent you a friend request`)).toBeVisible();
  await nav(a, "People").click();
  await a.getByRole("tab", { name: /Requests/ }).click();
  await expectAccessible(a, "people");
  await a.getByRole("button", { name: "Accept" }).click();
  await expect(b.getByText(`${alice.user.username} accepted your friend request`)).toBeVisible();
  await a.getByRole("tab", { name: /Friends/ }).click();
  await a.locator("li", { hasText: bob.user.username }).getByRole("button", { name: "Message" }).click();
  await a.waitForURL(/\/chats\/\d+$/);
  await expect(a.getByRole("heading", { name: bob.user.username })).toBeVisible();
  await a.getByLabel("Message", { exact: true }).fill("Welcome aboard, friend");
  await a.getByLabel("Message", { exact: true }).press("Enter");
  await expect(a.locator(".msg.mine", { hasText: "Welcome aboard, friend" })).toBeVisible();
});

test("servers with channels", async () => {
  await nav(a, "Servers").click();
  await a.getByRole("button", { name: "Create a server" }).click();
  await a.getByLabel("Server name").fill(unique("Starfleet"));
  await a.getByRole("button", { name: "Create", exact: true }).click();
  await a.waitForURL(/\/servers\/\d+\/\d+$/);
  await expect(a.getByRole("heading", { name: "# general" })).toBeVisible();
  await a.getByRole("button", { name: "Create channel" }).click();
  await a.getByLabel("Channel name").fill("Mission Logs");
  await a.getByRole("button", { name: "Create", exact: true }).click();
  await expect(a.getByRole("heading", { name: "# mission-logs" })).toBeVisible();
  await waitLive(a);
  await a.getByLabel("Message", { exact: true }).fill("Stardate 4523: all quiet");
  await a.getByLabel("Message", { exact: true }).press("Enter");
  await expect(a.locator(".msg.mine", { hasText: "Stardate 4523" })).toBeVisible();
  await expectAccessible(a, "servers");
  await screenshot(a, "servers");
});
