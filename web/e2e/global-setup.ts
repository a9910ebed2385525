import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
import { startSystem } from "./system";

export default async function globalSetup() {
  rmSync(path.join(here, "artifacts"), { recursive: true, force: true });
  return startSystem();
}
