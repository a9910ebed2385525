// Time to interactive on an emulated mid-range phone over fast 3G (issue 21's budget: 1.5 s):
// Chromium's own throttling through the DevTools protocol, the CPU slowed 4×, at 360 × 740 with
// touch, on two definitions of "fast 3G": Lighthouse's mobile profile (150 ms round trip,
// 1.6 Mbit/s down, 750 kbit/s up) and DevTools' "Fast 3G" preset (562.5 ms round trip,
// 1.44 Mbit/s down, 675 kbit/s up: three round trips — connect, page, script — alone take 1.7 s
// there). web/README.md has the figures (the 1.5 s budget is met on the first profile for the
// chat list only); the bounds below
// catch a regression, not the budget. "Interactive" is the later of the screen's main control being on screen and the end
// of the last long task (> 50 ms) before the main thread stays free for a second, as Lighthouse
// defines it (with a shorter quiet window). The figures go to the log and
// e2e/artifacts/interactive.json; web/README.md quotes them.
import { expect, test, type Page } from "@playwright/test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { registerUser, signIn } from "./fixtures";

const here = path.dirname(fileURLToPath(import.meta.url));
const QUIET_MS = 1000;

test.use({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });

interface Profile {
  name: string;
  latency: number;
  downKbit: number;
  upKbit: number;
  budgetMs: number;
}
const PROFILES: Profile[] = [
  { name: "Lighthouse mobile (fast 3G)", latency: 150, downKbit: 1638.4, upKbit: 750, budgetMs: 4000 },
  { name: "DevTools Fast 3G", latency: 562.5, downKbit: 1474.56, upKbit: 675, budgetMs: 6500 },
];

async function throttle(page: Page, p: Profile) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: p.latency,
    downloadThroughput: (p.downKbit * 1024) / 8,
    uploadThroughput: (p.upKbit * 1024) / 8,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
}

/** Records, from the first byte of the page, when `selector` appears and every long task. */
async function instrument(page: Page, selector: string) {
  await page.addInitScript((sel) => {
    const w = window as unknown as { __seen?: number; __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push(e.startTime + e.duration);
    }).observe({ type: "longtask", buffered: true });
    const check = () => {
      if (w.__seen === undefined && document.querySelector(sel)) w.__seen = performance.now();
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true });
  }, selector);
}

async function interactive(page: Page): Promise<{ visibleMs: number; interactiveMs: number; longTasks: number }> {
  await page.waitForFunction(() => (window as unknown as { __seen?: number }).__seen !== undefined, undefined, { timeout: 30_000 });
  // Wait for a quiet window after the control appeared.
  await page.waitForFunction(
    (quiet) => {
      const w = window as unknown as { __seen: number; __longTasks: number[] };
      const last = Math.max(w.__seen, ...w.__longTasks);
      return performance.now() - last > quiet;
    },
    QUIET_MS,
    { timeout: 30_000, polling: 100 },
  );
  return page.evaluate(() => {
    const w = window as unknown as { __seen: number; __longTasks: number[] };
    return { visibleMs: Math.round(w.__seen), interactiveMs: Math.round(Math.max(w.__seen, ...w.__longTasks)), longTasks: w.__longTasks.length };
  });
}

const results: Record<string, unknown> = {};

test.afterAll(() => {
  mkdirSync(path.join(here, "artifacts"), { recursive: true });
  writeFileSync(path.join(here, "artifacts", "interactive.json"), JSON.stringify(results, null, 2));
});

for (const profile of PROFILES) {
  test(`the login screen time to interactive on a throttled phone — ${profile.name}`, async ({ page }) => {
    await throttle(page, profile);
    await instrument(page, "form button[type=submit]");
    await page.goto("/login");
    const r = await interactive(page);
    results[`login — ${profile.name}`] = r;
    console.log(`login, ${profile.name} + 4× CPU: ${JSON.stringify(r)}`);
    await expect(page.getByRole("button", { name: /Log in|로그인/ }).first()).toBeEnabled();
    expect(r.interactiveMs).toBeLessThan(profile.budgetMs);
  });

  test(`the chat list time to interactive on a throttled phone — ${profile.name}`, async ({ page }) => {
    const me = await registerUser("phone");
    // Signed in first without throttling (the session in localStorage), then the measured load.
    await signIn(page, me, "/login");
    await throttle(page, profile);
    await instrument(page, "input[type=search]");
    await page.goto("/chats");
    const r = await interactive(page);
    results[`chats — ${profile.name}`] = r;
    console.log(`chat list, ${profile.name} + 4× CPU: ${JSON.stringify(r)}`);
    expect(r.interactiveMs).toBeLessThan(profile.budgetMs);
  });
}
