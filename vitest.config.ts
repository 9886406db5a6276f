import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The demo origin runs on Node (test/global-setup.ts) and the gateway reaches it over loopback,
// exactly as in `npm start`: a real local origin, not a mock.
export const TEST_ORIGIN_PORT = 18788;
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";

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
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
