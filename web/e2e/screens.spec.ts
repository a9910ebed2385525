// Every screen in Korean on a phone 360 px wide: its heading shows, nothing overflows the width,
// and axe finds no serious or critical violation (issue 21: every screen in both languages and
// at phone width; the English screens are walked by the other specs).
import { expect, test } from "@playwright/test";
import { createCharacter, expectAccessible, loginUser, registerUser, signIn, unique } from "./fixtures";
import { ADMIN } from "./system";

test.use({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });

const SCREENS: [string, string][] = [
  ["/chats", "채팅"],
  ["/characters", "캐릭터"],
  ["/characters/new", "캐릭터"],
  ["/people", "친구"],
  ["/servers", "서버"],
  ["/stories", "이야기"],
  // The settings page is headed by the user's own name.
  ["/settings", "phone_"],
];

for (const [path, heading] of SCREENS) {
  test(`${path} in Korean at 360 px`, async ({ page }) => {
    const s = await registerUser("phone");
    await createCharacter(s, unique("Moon"));
    await page.addInitScript(() => localStorage.setItem("chat.lang", "ko"));
    await signIn(page, s, path);
    await expect(page.getByRole("heading", { level: 1 }).first()).toContainText(heading);
    await expect(page.locator("html")).toHaveAttribute("lang", "ko");
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await expectAccessible(page, `${path} in Korean at 360 px`);
  });
}

test("the admin dashboard in Korean at 360 px", async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem("chat.lang", "ko"));
  await signIn(page, await loginUser(ADMIN.username, ADMIN.password), "/admin");
  await expect(page.getByRole("heading", { level: 1 }).first()).toBeVisible();
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  await expectAccessible(page, "the admin dashboard in Korean at 360 px");
});
