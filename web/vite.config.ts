import { defineConfig } from "vite";
import preact from "@preact/preset-vite";
import type { Plugin } from "vite";

// The first screen waits for its language's catalogue, a chunk the entry script imports only
// once it has run: a third round trip after the page and the script. Preloading both catalogues
// from index.html (1.8 + 2.5 KB gzip) fetches them beside the entry script instead; an inline
// script choosing one is not an option under the page's Content-Security-Policy.
function preloadCatalogues(): Plugin {
  return {
    name: "preload-catalogues",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(_html, ctx) {
        const chunks = Object.values(ctx.bundle ?? {}).filter(
          (c) => c.type === "chunk" && /\/src\/i18n\/(en|ko)\.ts$/.test(c.facadeModuleId ?? ""),
        );
        return chunks.map((c) => ({
          tag: "link",
          attrs: { rel: "modulepreload", crossorigin: true, href: `/${c.fileName}` },
          injectTo: "head" as const,
        }));
      },
    },
  };
}

// `npm run dev` serves the app on :5173 and proxies the REST API to api-service on :8000; the
// app itself finds the gateway (:3001) and admin-stats (:8002) — see src/lib/config.ts.
// React's API on Preact (preact/compat; the preset aliases react, react-dom and the JSX runtime):
// react-dom alone was 202 KB of the 372 KB first load and most of its start-up time on a
// throttled phone (web/README.md, "Performance"). The code and its types stay React's.
export default defineConfig({
  plugins: [preact({ devToolsInProd: false, prerender: { enabled: false } }), preloadCatalogues()],
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 400,
  },
  server: {
    port: 5173,
    proxy: { "/api/v1": "http://127.0.0.1:8000" },
  },
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
  },
});
