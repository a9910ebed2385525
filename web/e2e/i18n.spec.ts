// Korean and English: the browser's language picks, the user can switch, the choice is kept.
import { expect, test } from "@playwright/test";
import { createAiChat, createCharacter, expectAccessible, registerUser, signIn, waitLive } from "./fixtures";

test.use({ locale: "ko-KR" });

test("a Korean browser gets Korean; errors by code in Korean; switching to English is remembered", async ({ page }) => {
  await page.goto("/login");
  await expect(page.getByRole("heading", { name: "다시 오신 것을 환영합니다" })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.lang)).toBe("ko");
  await page.getByLabel("아이디 또는 이메일").fill("nobody");
  await page.getByLabel("비밀번호").fill("wrong-password1");
  await page.getByRole("button", { name: "로그인" }).click();
  // The API says "wrong username or password" (code unauthorized); the app says it in Korean.
  await expect(page.getByRole("alert")).toHaveText("로그인 정보가 올바르지 않거나 로그인이 필요합니다.");
  await expectAccessible(page, "login (ko)");
  await page.getByRole("combobox", { name: "언어" }).selectOption("en");
  await expect(page.getByRole("heading", { name: "Welcome back" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { name: "Welcome back" })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.lang)).toBe("en");
});

test("the chat screens in Korean", async ({ page }) => {
  const s = await registerUser("minji");
  const conv = await createAiChat(s, (await createCharacter(s, "선장 노바", { greeting: "*모자를 벗으며* 어서 와요, {{user}}!" })).id);
  await signIn(page, s, `/chats/${conv.id}`);
  await waitLive(page);
  await expect(page.getByRole("navigation", { name: "기본 메뉴" }).getByRole("link", { name: "채팅" })).toBeVisible();
  await expect(page.getByRole("complementary", { name: "대화 목록" }).getByRole("tab", { name: "전체" })).toBeVisible();
  await expect(page.locator(".msg.ai .text em", { hasText: "모자를 벗으며" })).toBeVisible();
  await expect(page.getByRole("textbox", { name: "메시지", exact: true })).toHaveAttribute("placeholder", "선장 노바에게 메시지 보내기…");
  await expect(page.getByRole("button", { name: "다시 생성" })).toBeVisible();
  await expectAccessible(page, "conversation (ko)");
  await page.getByRole("navigation", { name: "기본 메뉴" }).getByRole("link", { name: "친구" }).click();
  await expect(page.getByRole("heading", { name: "친구", exact: true })).toBeVisible();
  await expect(page.getByRole("tab", { name: "친구 추가" })).toBeVisible();
  await expectAccessible(page, "people (ko)");
  await page.getByRole("navigation", { name: "기본 메뉴" }).getByRole("link", { name: "캐릭터" }).click();
  await expect(page.getByRole("link", { name: "새 캐릭터" })).toBeVisible();
  await expect(page.locator("article.char-card", { hasText: "선장 노바" }).getByRole("button", { name: "대화하기" })).toBeVisible();
  await expectAccessible(page, "characters (ko)");
  // Settings: switch to English from inside the app.
  await page.goto("/settings");
  await expect(page.getByRole("heading", { name: "프로필" })).toBeVisible();
  await expectAccessible(page, "settings (ko)");
  await page.getByRole("combobox", { name: "언어" }).selectOption("en");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Chats" })).toBeVisible();
});
