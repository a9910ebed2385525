import { expect, test } from "@playwright/test";
import { call, createAiChat, createCharacter, expectAccessible, loginUser, nav, registerUser, screenshot, signIn, unique } from "./fixtures";
import { ADMIN } from "./system";

test("a non-admin has no dashboard", async ({ page }) => {
  const s = await registerUser("user");
  await signIn(page, s);
  await expect(nav(page, "Chats")).toBeVisible();
  await expect(nav(page, "Admin")).toHaveCount(0);
  await page.goto("/admin");
  await expect(page.getByText("The dashboard is for administrators.")).toBeVisible();
});

test("the admin sees a user's usage, the live view, and manages common prompts", async ({ page }) => {
  // Some usage to look at: one AI conversation with one complete reply.
  const s = await registerUser("alice");
  const characterName = unique("Nova");
  const conv = await createAiChat(s, (await createCharacter(s, characterName)).id);
  await call(s, "POST", `/conversations/${conv.id}/messages?wait=true`, { content: "Tell me about the nebula" });
  await expect.poll(async () => (await call<{ items: { role: string; status: string }[] }>(s, "GET", `/conversations/${conv.id}/messages`)).items.some((m) => m.role === "assistant" && m.status === "complete"), { timeout: 30_000 }).toBe(true);

  await signIn(page, await loginUser(ADMIN.username, ADMIN.password));
  await nav(page, "Admin").click();
  await expect(page.getByText("Messages per day")).toBeVisible();
  await expect(page.locator(".kpi", { hasText: "Messages" }).first()).toBeVisible();
  await expectAccessible(page, "admin overview");
  await screenshot(page, "admin-overview");
  await page.getByRole("tab", { name: "Users" }).click();
  await page.getByLabel("Search users").fill(s.user.username);
  await page.getByRole("link", { name: s.user.username }).click();
  await page.waitForURL(/\/admin\/users\/\d+$/);
  await expect(page.getByText("Tokens this month")).toBeVisible();
  const messages = await page.locator(".kpi", { hasText: "Messages this month" }).locator(".kpi-value").innerText();
  expect(Number(messages.replace(/\D/g, ""))).toBeGreaterThan(0);
  const byModel = await page.locator(".chart", { hasText: "Tokens by model" }).locator(".hbar-value").first().innerText();
  expect(Number(byModel.split(" ")[0].replace(/\D/g, ""))).toBeGreaterThan(0);
  await page.getByRole("button", { name: new RegExp(characterName) }).first().click();
  await expect(page.locator(".transcript", { hasText: "nebula" })).toBeVisible();
  await expect(page.locator(".transcript", { hasText: /\d+ tokens/ })).toBeVisible();
  await page.getByRole("link", { name: "All users" }).click();
  await page.getByRole("tab", { name: "Live" }).click();
  await expect(page.getByText("Gateway replicas").first()).toBeVisible();
  const replicas = await page.locator(".kpi", { hasText: "Gateway replicas" }).locator(".kpi-value").innerText();
  expect(Number(replicas)).toBeGreaterThanOrEqual(1);

  // Common prompts: add two, reorder, disable one, edit one, delete one.
  await page.getByRole("tab", { name: "Prompts" }).click();
  const suffix = unique("p");
  const add = async (name: string, text: string) => {
    await page.getByLabel("Prompt name").fill(name);
    await page.getByLabel("Prompt text").fill(text);
    await page.getByRole("button", { name: "Add prompt" }).click();
    await page.getByRole("listitem", { name: `Prompt ${name}` }).waitFor();
  };
  const tone = `Tone ${suffix}`;
  const safety = `Safety ${suffix}`;
  await add(tone, "Stay in character.");
  await add(safety, "Refuse harmful requests.");
  await page.getByRole("button", { name: `Move ${safety} up` }).click();
  await expect(page.locator(".prompt-list > li").first()).toContainText(safety);
  await page.getByRole("listitem", { name: `Prompt ${tone}` }).getByLabel("Enabled").uncheck();
  await page.getByLabel(`Text of ${safety}`).fill("Refuse harmful requests politely.");
  await page.getByRole("listitem", { name: `Prompt ${safety}` }).getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("listitem", { name: `Prompt ${safety}` }).getByRole("button", { name: "Save" })).toBeDisabled();
  await expectAccessible(page, "admin prompts");
  const admin = await loginUser(ADMIN.username, ADMIN.password);
  type Prompt = { name: string; content: string; is_enabled: boolean };
  const mine = async () => (await call<Prompt[]>(admin, "GET", "/prompts")).filter((p) => p.name.endsWith(suffix));
  let stored = await mine();
  expect(stored.map((p) => p.name)).toEqual([safety, tone]);
  expect(stored[0].content).toBe("Refuse harmful requests politely.");
  expect(stored[0].is_enabled).toBe(true);
  expect(stored[1].is_enabled).toBe(false);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("listitem", { name: `Prompt ${tone}` }).getByRole("button", { name: "Delete" }).click();
  await page.getByRole("listitem", { name: `Prompt ${tone}` }).waitFor({ state: "detached" });
  stored = await mine();
  expect(stored.map((p) => p.name)).toEqual([safety]);
});
