// The JavaScript of the first load (the entry script and what index.html preloads), raw and
// compressed (gzip -9 and brotli), from web/dist. `npm run size` after `npm run build`.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
const html = readFileSync(path.join(dist, "index.html"), "utf8");
const first = [...html.matchAll(/<script[^>]+src="([^"]+\.js)"|<link rel="modulepreload"[^>]+href="([^"]+\.js)"/g)].map((m) => m[1] ?? m[2]);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const measure = (file) => {
  const buf = readFileSync(path.join(dist, file));
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, br: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
};
let total = { raw: 0, gzip: 0, br: 0 };
console.log("first load:");
for (const f of first) {
  const m = measure(f);
  total = { raw: total.raw + m.raw, gzip: total.gzip + m.gzip, br: total.br + m.br };
  console.log(`  ${f}  ${kb(m.raw)} raw, ${kb(m.gzip)} gzip, ${kb(m.br)} brotli`);
}
console.log(`  total ${kb(total.raw)} raw, ${kb(total.gzip)} gzip, ${kb(total.br)} brotli`);
console.log("loaded later:");
for (const f of readdirSync(path.join(dist, "assets")).filter((f) => f.endsWith(".js") && !first.includes(`/assets/${f}`))) {
  const m = measure(`assets/${f}`);
  console.log(`  /assets/${f}  ${kb(m.raw)} raw, ${kb(m.gzip)} gzip`);
}
