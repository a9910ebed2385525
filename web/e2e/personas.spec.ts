// Personas (issue 16): added on the Settings page, the first one is the default, another made
// the default, one deleted; the screen in Korean too.
import { expect, test } from "@playwright/test";
import { expectAccessible, registerUser, signIn } from "./fixtures";

test("personas are added, one is the default, and they can be deleted", async ({ page }) => {
  const s = await registerUser("bard");
  await signIn(page, s, "/settings");
  const section = page.getByRole("region", { name: "Personas" });
  await expect(section.getByText("No personas yet: your display name is used.")).toBeVisible();
  await expectAccessible(page, "settings with personas (empty)");

  await section.getByLabel("Name").fill("민지");
  await section.getByLabel("Description").fill("서울에 사는 대학생");
  await section.getByRole("button", { name: "Add persona" }).click();
  const list = section.getByRole("list", { name: "Personas" });
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await expect(list.getByRole("listitem").first()).toContainText("default");

  await section.getByLabel("Name").fill("Ari");
  await section.getByRole("button", { name: "Add persona" }).click();
  await expect(list.getByRole("listitem")).toHaveCount(2);
  const ari = list.getByRole("listitem").filter({ hasText: "Ari" });
  await ari.getByRole("button", { name: "Make default" }).click();
  await expect(ari).toContainText("default");
  await expect(list.getByRole("listitem").filter({ hasText: "민지" }).getByRole("button", { name: "Make default" })).toBeVisible();
  await expectAccessible(page, "settings with personas");

  await list.getByRole("button", { name: "Delete 민지" }).click();
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await page.reload();
  await expect(page.getByRole("region", { name: "Personas" }).getByRole("listitem")).toHaveCount(1);
});

test.describe("in Korean", () => {
  test.use({ locale: "ko-KR" });
  test("the persona manager in Korean", async ({ page }) => {
    const s = await registerUser("yuna");
    await signIn(page, s, "/settings");
    const section = page.getByRole("region", { name: "페르소나" });
    await expect(section.getByText("아직 페르소나가 없습니다. 표시 이름이 쓰입니다.")).toBeVisible();
    await section.getByLabel("이름").fill("민지");
    await section.getByRole("button", { name: "페르소나 추가" }).click();
    await expect(section.getByRole("listitem")).toContainText("기본");
    await expectAccessible(page, "personas (ko)");
  });
});
