import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { freePort } from "./bench/harness.ts";

// The demo origin runs on Node (test/global-setup.ts) and the gateway reaches it over loopback,
// exactly as in `npm start`: a real local origin, not a mock. A free port per run, so two test runs
// (or a running `npm start`) never collide; global-setup reads it from the environment.

process.env.DISTILLGUARD_TEST_ORIGIN_PORT ??= String(await freePort());
const TEST_ORIGIN_PORT = Number(process.env.DISTILLGUARD_TEST_ORIGIN_PORT);
const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ORIGIN_URL: `http://127.0.0.1:${TEST_ORIGIN_PORT}`,
          ADMIN_TOKEN: TEST_ADMIN_TOKEN,
          ENVIRONMENT: "test",
          TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
        },
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/setup.ts"],
    // One JSON line per decision is the gateway's contract in production; in a run of thousands
    // of test requests it only buries failures. Everything else the worker logs stays visible.
    onConsoleLog: (log) => !log.includes('"msg":"decision"'),
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
