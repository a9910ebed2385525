import { expect, test } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";
import { expectAccessible, nav, registerUser, screenshot, signIn, unique } from "./fixtures";

test("create a character with the editor, export it as JSON and PNG, import it back", async ({ page }, info) => {
  const s = await registerUser("maker");
  const name = unique("Nova");
  await signIn(page, s);
  await nav(page, "Characters").click();
  await page.getByRole("link", { name: "New character" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Description").fill("A starship captain who answers every question with a tale from the void.");
  await page.getByLabel("Personality").fill("Bold, warm, a little theatrical.");
  await page.getByLabel("Scenario").fill("The bridge of the starship Meridian.");
  await page.getByLabel("Greeting", { exact: true }).fill("Welcome aboard, {{user}}! I'm {{char}}.");
  await page.getByRole("button", { name: "Add alternate greeting" }).click();
  await page.getByLabel("Alternate greeting 1", { exact: true }).fill("Ah, a new face on my bridge!");
  await page.getByLabel("Example dialogue").fill("<START>\n{{user}}: Hi\n{{char}}: Hello, cadet.");
  await page.getByLabel("System prompt").fill("Stay in character as a starship captain.");
  await page.getByLabel("Tags").fill("scifi, captain");
  await page.getByLabel("Visibility").selectOption("public");
  await expectAccessible(page, "character editor");
  await page.getByRole("button", { name: "Create character" }).click();
  await page.waitForURL(/\/characters\/\d+\/edit$/);
  await expect(page.getByRole("heading", { name: `Edit ${name}` })).toBeVisible();
  // Bad input shows the API's field message next to the field.
  await page.getByLabel("Model preference").fill("no-slash");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator(".field-error", { hasText: "provider/model" })).toBeVisible();
  await page.getByLabel("Model preference").fill("");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Saved")).toBeVisible();

  await nav(page, "Characters").click();
  await page.getByLabel("Search").fill(name);
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await expect(page.getByRole("button", { name: "#scifi" }).first()).toBeVisible();
  await expectAccessible(page, "characters");
  await screenshot(page, "characters-gallery");

  const card = page.locator("article.char-card", { hasText: name });
  const [download] = await Promise.all([page.waitForEvent("download"), card.getByRole("button", { name: "JSON" }).click()]);
  const file = info.outputPath("card.json");
  await download.saveAs(file);
  const json = JSON.parse(readFileSync(file, "utf8"));
  expect(json.spec).toBe("chara_card_v2");
  expect(json.data.name).toBe(name);
  json.data.name = `Imported ${name}`;
  writeFileSync(file, JSON.stringify(json));
  await page.getByTestId("import-file").setInputFiles(file);
  await page.waitForURL(/\/characters\/\d+\/edit$/);
  await expect(page.getByRole("heading", { name: `Edit Imported ${name}` })).toBeVisible();
  await expect(page.getByLabel("Scenario")).toHaveValue(/Meridian/);
  const [png] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export PNG" }).click()]);
  const pngFile = info.outputPath("card.png");
  await png.saveAs(pngFile);
  expect(readFileSync(pngFile).subarray(1, 4).toString()).toBe("PNG");
});
