import { defineConfig } from "vitest/config";

// Served by the gateway at `/`: relative asset paths, everything bundled (no CDN).
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
  },
  server: {
    // `npm run dev` against a running `nox -s dev`: same-origin API through Vite's proxy
    proxy: {
      "/api": "http://127.0.0.1:8081",
      "/analytics": "http://127.0.0.1:8081",
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
