import { defineConfig } from "vitest/config";
import path from "node:path";

export default defineConfig({
  resolve: { alias: { "@": import.meta.dirname } },
  test: { environment: "jsdom", include: ["tests/**/*.test.ts"] },
});
