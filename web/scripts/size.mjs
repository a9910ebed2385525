// The JavaScript of the first load, raw and compressed (gzip -9 and brotli), from web/dist:
// the entry script, the chunks index.html preloads, and the language catalogues (chunks of their
// own, both preloaded by index.html; without the preload the larger of the two is counted). `npm run size` after
// `npm run build`; exits 1 when the gzip total is over the budget (issue 21: 120 KB).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const BUDGET_GZIP = 120 * 1024;
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
const html = readFileSync(path.join(dist, "index.html"), "utf8");
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const measure = (file) => {
  const buf = readFileSync(path.join(dist, file));
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, br: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
};
const assets = readdirSync(path.join(dist, "assets")).filter((f) => f.endsWith(".js")).map((f) => `/assets/${f}`);
const first = [...html.matchAll(/<script[^>]+src="([^"]+\.js)"|<link rel="modulepreload"[^>]+href="([^"]+\.js)"/g)].map((m) => m[1] ?? m[2]);
const catalogues = assets.filter((f) => /\/assets\/(en|ko)-[\w-]+\.js$/.test(f));
if (catalogues.length !== 2) throw new Error(`expected the en and ko catalogue chunks, found ${catalogues.join(", ") || "none"}`);
const biggest = catalogues.map((f) => [f, measure(f)]).sort((a, b) => b[1].gzip - a[1].gzip)[0][0];
// index.html preloads both catalogues (vite.config.ts); count them as they come.
if (!catalogues.every((c) => first.includes(c))) first.push(biggest);

let total = { raw: 0, gzip: 0, br: 0 };
console.log("first load (login and chat screens):");
for (const f of first) {
  const m = measure(f);
  total = { raw: total.raw + m.raw, gzip: total.gzip + m.gzip, br: total.br + m.br };
  console.log(`  ${f}  ${kb(m.raw)} raw, ${kb(m.gzip)} gzip, ${kb(m.br)} brotli${f === biggest ? "  (the larger catalogue)" : ""}`);
}
console.log(`  total ${kb(total.raw)} raw, ${kb(total.gzip)} gzip, ${kb(total.br)} brotli (budget ${kb(BUDGET_GZIP)} gzip)`);
console.log("loaded later:");
for (const f of assets.filter((f) => !first.includes(f))) {
  const m = measure(f);
  console.log(`  ${f}  ${kb(m.raw)} raw, ${kb(m.gzip)} gzip`);
}
if (total.gzip > BUDGET_GZIP) {
  console.error(`size: the first load is ${kb(total.gzip)} gzip, over the ${kb(BUDGET_GZIP)} budget`);
  process.exit(1);
}
