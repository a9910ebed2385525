// Browser tests on @playwright/test, driving the system's Chromium (Debian's package; no browser
// download). The global setup starts the whole system from the built binaries (e2e/system.ts).
import { defineConfig, devices } from "@playwright/test";
import { origin } from "./e2e/system";

const chromium = process.env.CHROMIUM || "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  outputDir: "e2e/artifacts/results",
  globalSetup: "./e2e/global-setup.ts",
  // One system, one worker: tests are independent (each registers its own users) but share the
  // gateway, which one test restarts.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["html", { outputFolder: "e2e/artifacts/report", open: "never" }]],
  use: {
    baseURL: origin,
    locale: "en-US",
    actionTimeout: 15_000,
    navigationTimeout: 15_000,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 800 }, channel: undefined } }],
});
