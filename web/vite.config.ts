import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the app on :5173 and proxies the REST API to api-service on :8000; the
// app itself finds the gateway (:3001) and admin-stats (:8002) — see src/lib/config.ts.
export default defineConfig({
  plugins: [react()],
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
