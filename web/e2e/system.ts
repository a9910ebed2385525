// The system under test: what `make run` starts (redis-server, api-service serving the built
// client, chat-gateway, llm-worker, admin-stats), from the built binaries, on their own ports
// with their own SQLite file. No provider key is set, so the mock model answers.
//
// Playwright's global setup starts it once; tests reach it at `origin`. Process ids are kept in
// a state file (E2E_STATE) so a test may stop and restart a service (the gateway-restart test)
// and the teardown stops whatever runs then.
//
// Environment: CHROMIUM (default /usr/bin/chromium), CARGO_TARGET_DIR (default ../target),
// E2E_PORT_BASE (default 18000: api +0, gateway +1, admin +2, worker ops +3, redis +4),
// E2E_KEEP=1 keeps the data directory.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

const web = path.resolve(here, "..");
const repo = path.resolve(web, "..");
const targetDir = path.resolve(repo, process.env.CARGO_TARGET_DIR ?? "target");
const bin = (name: string) => path.join(targetDir, "debug", name);
const base = Number(process.env.E2E_PORT_BASE ?? 18000);
export const ports = { api: base, gateway: base + 1, admin: base + 2, worker: base + 3, redis: base + 4 };
export const origin = `http://127.0.0.1:${ports.api}`;
export const ADMIN = { username: "e2eadmin", password: "admin-pass-123" };

type Service = "redis" | "api-service" | "chat-gateway" | "llm-worker" | "admin-stats";
interface State {
  dataDir: string;
  pids: Partial<Record<Service, number>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stateFile(): string {
  const f = process.env.E2E_STATE;
  if (!f) throw new Error("E2E_STATE is not set: the system was not started by the global setup");
  return f;
}
const readState = (): State => JSON.parse(readFileSync(stateFile(), "utf8"));
const writeState = (s: State) => writeFileSync(stateFile(), JSON.stringify(s));

function env(dataDir: string): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "APP__LLM__COMPAT_BASE_URL"]) delete e[k];
  return {
    ...e,
    APP_ENV: "development",
    DATABASE_URL: `sqlite://${dataDir}/chat.db`,
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    APP__HTTP__API_PORT: String(ports.api),
    APP__HTTP__GATEWAY_PORT: String(ports.gateway),
    APP__HTTP__ADMIN_PORT: String(ports.admin),
    APP__HTTP__WORKER_OPS_PORT: String(ports.worker),
    APP__HTTP__WEB_DIR: path.join(dataDir, "web"),
    APP__HTTP__SHUTDOWN_TIMEOUT_SECS: "2",
    APP__AUTH__BCRYPT_COST: "4",
    APP__RATE_LIMIT__REGISTER_PER_HOUR: "10000",
    APP__RATE_LIMIT__LOGIN_PER_MINUTE: "10000",
    APP__RATE_LIMIT__SENDS_PER_MINUTE: "10000",
    APP__LLM__MOCK_TOKENS_PER_SEC: "12",
    APP__LLM__DEFAULT_MODEL: "",
    APP__LOG__FORMAT: "pretty",
    RUST_LOG: process.env.RUST_LOG ?? "info",
  };
}

function command(name: Service, dataDir: string): [string, string[]] {
  if (name === "redis") {
    return ["redis-server", ["--port", String(ports.redis), "--bind", "127.0.0.1", "--dir", path.join(dataDir, "redis"), "--save", "", "--appendonly", "no"]];
  }
  return [bin(name), []];
}

/** Starts one service in its own process group (it outlives the test worker that started it). */
export function startService(name: Service, state: State = readState()): void {
  const fd = openSync(path.join(state.dataDir, "logs", `${name}.log`), "a");
  const [cmd, args] = command(name, state.dataDir);
  const p = spawn(cmd, args, { env: env(state.dataDir), stdio: ["ignore", fd, fd], cwd: repo, detached: true });
  p.unref();
  state.pids[name] = p.pid;
  writeState(state);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a service with `signal`; SIGKILL after 8 s. Resolves whether it exited by itself. */
export async function stopService(name: Service, signal: NodeJS.Signals = "SIGTERM"): Promise<boolean> {
  const state = readState();
  const pid = state.pids[name];
  delete state.pids[name];
  writeState(state);
  if (!pid || !alive(pid)) return true;
  process.kill(pid, signal);
  for (let i = 0; i < 80; i++) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  process.kill(pid, "SIGKILL");
  return false;
}

export async function waitReady(name: string, port: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      if (r.ok) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${name} did not become ready on :${port}; see its log in the data directory`);
}

async function waitPort(port: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        res(true);
      });
      s.on("error", () => res(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on :${port}`);
}

/** Whether nothing listens on 127.0.0.1:`port` (another run on this machine may hold it). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = net.createServer();
    srv.once("error", () => res(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
  });
}

export async function startSystem(): Promise<() => Promise<void>> {
  for (const port of Object.values(ports)) {
    // A server already there would answer in place of ours (and the tests would drive it).
    if (!(await portFree(port))) throw new Error(`port ${port} is in use (another e2e run?); set E2E_PORT_BASE to a free range`);
  }
  for (const b of ["api-service", "chat-gateway", "llm-worker", "admin-stats"]) {
    if (!existsSync(bin(b))) throw new Error(`${bin(b)} is missing: run \`cargo build --bins\` first`);
  }
  if (!existsSync(path.join(web, "dist", "index.html"))) throw new Error("web/dist is missing: run `npm run build` first");
  const dataDir = mkdtempSync(path.join(tmpdir(), "chat-e2e-"));
  mkdirSync(path.join(dataDir, "logs"));
  mkdirSync(path.join(dataDir, "redis"));
  process.env.E2E_STATE = path.join(dataDir, "state.json");
  const state: State = { dataDir, pids: {} };
  writeState(state);
  // The built app, with the runtime configuration a deployment would write into index.html.
  cpSync(path.join(web, "dist"), path.join(dataDir, "web"), { recursive: true });
  const index = path.join(dataDir, "web", "index.html");
  writeFileSync(
    index,
    readFileSync(index, "utf8")
      .replace('<meta name="chat-gateway-url" content="" />', `<meta name="chat-gateway-url" content="ws://127.0.0.1:${ports.gateway}/ws" />`)
      .replace('<meta name="chat-admin-url" content="" />', `<meta name="chat-admin-url" content="http://127.0.0.1:${ports.admin}/api/v1/admin" />`),
  );
  const teardown = async () => {
    for (const name of ["admin-stats", "llm-worker", "chat-gateway", "api-service", "redis"] as Service[]) await stopService(name);
    const keep = process.env.E2E_KEEP === "1";
    try {
      cpSync(path.join(dataDir, "logs"), path.join(web, "e2e", "artifacts", "logs"), { recursive: true });
    } catch {
      // no logs
    }
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`e2e: kept ${dataDir}`);
  };
  try {
    startService("redis", state);
    await waitPort(ports.redis);
    startService("api-service", state);
    await waitReady("api-service", ports.api);
    startService("chat-gateway", state);
    startService("llm-worker", state);
    startService("admin-stats", state);
    await Promise.all([waitReady("chat-gateway", ports.gateway), waitReady("llm-worker", ports.worker), waitReady("admin-stats", ports.admin)]);
    const admin = spawnSync(bin("api-service"), ["create-admin", ADMIN.username, `${ADMIN.username}@example.com`], {
      env: { ...env(dataDir), ADMIN_PASSWORD: ADMIN.password },
      encoding: "utf8",
      cwd: repo,
    });
    if (admin.status !== 0) throw new Error(`create-admin failed: ${admin.stderr || admin.stdout}`);
  } catch (e) {
    await teardown();
    throw e;
  }
  console.log(`e2e: system up (data in ${dataDir}; api :${ports.api}, gateway :${ports.gateway}, admin :${ports.admin})`);
  return teardown;
}
