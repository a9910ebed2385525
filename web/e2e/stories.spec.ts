// Stories: write one from a prompt (the mock model answers), watch it finish, stop another one
// while it runs; the screen in Korean.
import { expect, test } from "@playwright/test";
import { createCharacter, expectAccessible, nav, registerUser, signIn, waitLive } from "./fixtures";

test("a story is written from a prompt, listed, and one can be stopped while it runs", async ({ page }) => {
  const s = await registerUser("bard");
  await createCharacter(s, "Captain Nova");
  await signIn(page, s, "/chats");
  await waitLive(page);
  await nav(page, "Stories").click();
  await expect(page.getByRole("heading", { name: "Stories", exact: true })).toBeVisible();
  await expect(page.getByText("No stories yet.")).toBeVisible();
  await expectAccessible(page, "stories (new)");

  await page.getByLabel("What the story is about").fill("A lighthouse keeper finds a map in a bottle");
  await page.getByLabel("Title", { exact: true }).fill("The Lighthouse");
  await page.getByRole("checkbox", { name: "Captain Nova" }).check();
  await page.getByRole("button", { name: "Write the story" }).click();
  await page.waitForURL(/\/stories\/\d+$/);
  const story = page.getByRole("article", { name: "The Lighthouse" });
  await expect(story.getByRole("heading", { name: "The Lighthouse" })).toBeVisible();
  // The mock model's words arrive, then the stored story is shown as complete.
  await expect(story.locator(".story-text")).toContainText("tilts head thoughtfully", { timeout: 30_000 });
  await expect(story.locator(".story-status")).toHaveText("complete", { timeout: 30_000 });
  await expect(story.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await expect(page.getByRole("complementary", { name: "Your stories" }).getByRole("link", { name: /The Lighthouse/ })).toBeVisible();
  await expectAccessible(page, "story");

  // A second one, stopped while it is being written: it ends as failed and keeps what was written.
  await page.getByRole("link", { name: "New story" }).click();
  await page.getByLabel("What the story is about").fill("A very long saga about the stars, told slowly");
  await page.getByLabel("Title", { exact: true }).fill("The Saga");
  await page.getByRole("button", { name: "Write the story" }).click();
  const saga = page.getByRole("article", { name: "The Saga" });
  await expect(saga.locator(".story-text")).toContainText("tilts", { timeout: 30_000 });
  await saga.getByRole("button", { name: "Stop" }).click();
  await expect(saga.locator(".story-status")).toHaveText("failed", { timeout: 30_000 });
  await expect(saga.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await expect(saga.locator(".story-text")).toContainText("tilts");
});

test.describe("in Korean", () => {
  test.use({ locale: "ko-KR" });
  test("the stories screen in Korean", async ({ page }) => {
    const s = await registerUser("yuna");
    await signIn(page, s, "/stories");
    await expect(page.getByRole("heading", { name: "이야기", exact: true })).toBeVisible();
    await expect(nav(page, "이야기")).toHaveAttribute("aria-current", "page");
    await expect(page.getByLabel("이야기 내용")).toBeVisible();
    await expect(page.getByText("내 캐릭터가 없습니다. 캐릭터 없이도 쓸 수 있습니다.")).toBeVisible();
    await expect(page.getByRole("button", { name: "이야기 쓰기" })).toBeDisabled();
    await expectAccessible(page, "stories (ko)");
    await page.getByLabel("이야기 내용").fill("바닷가 마을의 등대지기 이야기");
    await page.getByRole("button", { name: "이야기 쓰기" }).click();
    await expect(page.getByRole("article").locator(".story-status")).toHaveText("완료", { timeout: 30_000 });
  });
});
