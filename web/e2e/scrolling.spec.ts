// A long conversation: virtualized (only rows near the view are in the page), older messages
// load as the reader scrolls up without moving what they read, it scrolls at a frame rate
// measured here, and a search hit opens the conversation at that message.
import { expect, test, type Page } from "@playwright/test";
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { call, expectAccessible, registerUser, signIn, unique, type Session } from "./fixtures";

const here = path.dirname(fileURLToPath(import.meta.url));
const TOTAL = 5000;

test.describe.configure({ mode: "serial" });

let kirk: Session;
let spock: Session;
let roomId: number;

/** Sends `n` numbered messages from two authors (runs of 1–4 each, so groups vary), `width` at a time. */
async function seed(n: number, width = 24) {
  let next = 1;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i > n) return;
      const who = Math.floor(i / 3) % 2 ? kirk : spock;
      const long = i % 7 === 0 ? " — and a longer line that wraps on a phone, to make rows of different heights." : "";
      await call(who, "POST", `/conversations/${roomId}/messages`, { content: `Log entry ${i}${long}` });
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

test.beforeAll(async () => {
  test.setTimeout(300_000);
  kirk = await registerUser("kirk");
  spock = await registerUser("spock");
  const room = await call<{ id: number }>(kirk, "POST", "/conversations", { kind: "group", title: unique("Long log"), description: "", visibility: "public" });
  roomId = room.id;
  await call(spock, "POST", `/conversations/${roomId}/join`);
  await seed(TOTAL);
});

/** The ids of the messages in the page, top to bottom on screen, and where each is. */
const onScreen = (page: Page) =>
  page.locator(".messages [data-message-id]").evaluateAll((els) =>
    els
      .map((e) => ({ id: Number(e.getAttribute("data-message-id")), top: e.getBoundingClientRect().top }))
      .sort((a, b) => a.top - b.top),
  );

test("only the rows near the view are in the page, and scrolling up keeps the reader's place", async ({ page }) => {
  await signIn(page, spock, `/chats/${roomId}`);
  const list = page.locator(".messages");
  await expect(page.locator(".msg", { hasText: `Log entry ${TOTAL}` })).toBeVisible();
  const rendered = await page.locator(".messages .msg-row").count();
  expect(rendered).toBeLessThan(40);

  // Scroll to the top: the next page loads by itself, and the message that was at the top stays
  // where it was on screen.
  // The older page's request is held until the message in view has been read: on a fast machine
  // it used to land within the wait, and the "first" row was then an overscan row above the view.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let held!: () => void;
  const requested = new Promise<void>((r) => (held = r));
  await page.route(/\/messages\?.*before=/, async (route) => {
    held();
    await released;
    await route.continue();
  });
  await list.evaluate((el) => (el.scrollTop = 0));
  await requested;
  await page.waitForTimeout(200);
  const before = await list.evaluate((el) => {
    const viewTop = el.getBoundingClientRect().top;
    return Array.from(el.querySelectorAll<HTMLElement>("[data-message-id]"))
      .map((e) => ({ id: Number(e.getAttribute("data-message-id")), top: e.getBoundingClientRect().top }))
      .filter((m) => m.top >= viewTop - 1)
      .sort((a, b) => a.top - b.top)[0];
  });
  release();
  expect(before, "a message in view at the top").toBeTruthy();
  await expect(list).toHaveAttribute("data-count", "100");
  await expect
    .poll(async () => (await onScreen(page)).find((m) => m.id === before.id)?.top, {
      message: "the message read before the older page came stays where it was",
    })
    .toBeGreaterThan(before.top - 40);
  const after = (await onScreen(page)).find((m) => m.id === before.id);
  expect(after, "the message read before the older page came").toBeTruthy();
  expect(Math.abs(after!.top - before.top)).toBeLessThan(40);
  expect(await list.evaluate((el) => el.scrollTop)).toBeGreaterThan(300);
  // In id order on screen.
  const ids = (await onScreen(page)).map((m) => m.id);
  expect(ids.length).toBeGreaterThan(3);
  expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  await expectAccessible(page, "a long conversation");
});

test("a 5,000-message conversation scrolls smoothly from the newest to the oldest", async ({ page }) => {
  test.setTimeout(600_000);
  await signIn(page, spock, `/chats/${roomId}`);
  const list = page.locator(".messages");
  await expect(page.locator(".msg", { hasText: `Log entry ${TOTAL}` })).toBeVisible();
  // Load the whole history by scrolling up (each arrival at the top loads 50 more).
  await list.evaluate(async (el) => {
    for (let i = 0; i < 400 && Number(el.getAttribute("data-count")) < 5000; i++) {
      el.scrollTop = 0;
      await new Promise((r) => setTimeout(r, 60));
    }
  });
  await expect(list).toHaveAttribute("data-count", String(TOTAL), { timeout: 120_000 });
  const inPage = await page.locator(".messages .msg-row").count();
  expect(inPage).toBeLessThan(60);

  // Scroll the whole conversation at a steady speed, one step per frame, and time the frames.
  const stats = await list.evaluate(async (el) => {
    el.scrollTop = el.scrollHeight;
    await new Promise((r) => setTimeout(r, 300));
    const deltas: number[] = [];
    let last = performance.now();
    const step = 40; // px per frame: ≈2,400 px/s at 60 fps, a brisk flick
    const start = performance.now();
    await new Promise<void>((done) => {
      const frame = (now: number) => {
        deltas.push(now - last);
        last = now;
        el.scrollTop -= step;
        if (el.scrollTop <= 0 || now - start > 20_000) done();
        else requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    deltas.shift();
    const sorted = [...deltas].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
    const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
    return {
      frames: deltas.length,
      seconds: (performance.now() - start) / 1000,
      fps: 1000 / mean,
      p50: pct(0.5),
      p95: pct(0.95),
      p99: pct(0.99),
      max: sorted[sorted.length - 1],
      over50ms: deltas.filter((d) => d > 50).length,
      scrollHeight: el.scrollHeight,
    };
  });
  console.log(`5,000-message scroll: ${JSON.stringify(stats)}`);
  mkdirSync(path.join(here, "artifacts"), { recursive: true });
  writeFileSync(path.join(here, "artifacts", "scroll-frames.json"), JSON.stringify(stats, null, 2));
  expect(stats.frames).toBeGreaterThan(100);
  // The figure depends on the machine's load (54 fps idle, 23 fps with other builds running on
  // this 2-core machine): it is recorded for web/README.md; the floor only catches a list that
  // stalls outright. What virtualization guarantees is checked above: rows in the page.
  expect(stats.fps).toBeGreaterThan(10);
});

test("a search hit opens the conversation at that message, and newer ones load below it", async ({ page }) => {
  await signIn(page, spock, "/chats");
  await page.getByRole("searchbox").fill("Log entry 1234");
  const hit = page.getByRole("link", { name: /Log entry 1234/ }).first();
  await hit.click();
  const target = page.locator(".msg.hit", { hasText: "Log entry 1234" });
  await expect(target).toBeVisible();
  await expect(page.locator(".msg", { hasText: `Log entry ${TOTAL}` })).toHaveCount(0);
  // Scrolling down loads the next page after the window (50 around the hit, then 50 more).
  const list = page.locator(".messages");
  const count = Number(await list.getAttribute("data-count"));
  expect(count).toBeLessThanOrEqual(50);
  await list.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(list).toHaveAttribute("data-count", String(count + 50));
  // "Jump to the latest" returns to the live end.
  await page.getByRole("button", { name: "Jump to the latest" }).click();
  await expect(page.locator(".msg", { hasText: `Log entry ${TOTAL}` })).toBeVisible();
  await expectAccessible(page, "a conversation opened at a search hit");
});
