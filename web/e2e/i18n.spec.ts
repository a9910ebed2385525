// Korean and English: the browser's language picks, the user can switch, the choice is kept.
import { expect, test } from "@playwright/test";
import { createAiChat, createCharacter, expectAccessible, loginUser, nav, registerUser, signIn, unique, waitLive } from "./fixtures";
import { ADMIN } from "./system";

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
  await expect(page.locator(".day-separator")).toHaveText("오늘");
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

test("the character editor, servers and the admin dashboard in Korean", async ({ page }) => {
  const s = await registerUser("jiho");
  await signIn(page, s, "/characters/new");
  // The editor: labels, a hint that shows the {{user}} macro literally, a toast, the edit title.
  await expect(page.getByRole("heading", { name: "새 캐릭터" })).toBeVisible();
  await expect(page.getByText("새 대화마다 처음 보내는 메시지입니다. {{user}}와 {{char}}는 이름으로 바뀝니다.")).toBeVisible();
  await expect(page.getByRole("combobox", { name: "공개 범위" })).toBeVisible();
  await expectAccessible(page, "character editor (ko)");
  const name = unique("하늘");
  await page.getByLabel("이름", { exact: true }).fill(name);
  await page.getByRole("button", { name: "캐릭터 만들기" }).click();
  await expect(page.getByRole("heading", { name: `${name} 편집` })).toBeVisible();
  await expect(page.getByText(`${name}을(를) 만들었습니다`)).toBeVisible();
  await expect(page.getByRole("button", { name: "변경 사항 저장" })).toBeVisible();

  // Servers: the empty page, the dialog, the channel column.
  await nav(page, "서버").click();
  await expect(page.getByRole("heading", { name: "서버", exact: true })).toBeVisible();
  await expect(page.getByText("아직 참여한 서버가 없습니다.")).toBeVisible();
  await page.getByRole("button", { name: "서버 만들기" }).click();
  await expect(page.getByRole("dialog", { name: "서버 만들기" })).toBeVisible();
  await page.getByLabel("서버 이름").fill(unique("별빛"));
  await page.getByRole("button", { name: "만들기", exact: true }).click();
  await expect(page.getByText("텍스트 채널")).toBeVisible();
  await expect(page.getByRole("button", { name: "서버 삭제" })).toBeVisible();
  await expect(page.getByText(/^멤버 — 1명$/)).toBeVisible();
  await expectAccessible(page, "servers (ko)");

  // The admin dashboard, as the administrator.
  await page.getByRole("button", { name: "로그아웃" }).first().click();
  await signIn(page, await loginUser(ADMIN.username, ADMIN.password), "/admin");
  await expect(page.getByRole("heading", { name: "관리", exact: true })).toBeVisible();
  await expect(page.getByText("일별 메시지").first()).toBeVisible();
  await expectAccessible(page, "admin overview (ko)");
  await page.getByRole("tab", { name: "사용자" }).click();
  await expect(page.getByLabel("사용자 검색")).toBeVisible();
  await expect(page.getByRole("columnheader", { name: "마지막 활동" })).toBeVisible();
  await page.getByRole("tab", { name: "실시간" }).click();
  await expect(page.getByText("게이트웨이 복제본").first()).toBeVisible();
  await page.getByRole("tab", { name: "프롬프트" }).click();
  await expect(page.getByLabel("프롬프트 이름")).toBeVisible();
  await expectAccessible(page, "admin prompts (ko)");
});
