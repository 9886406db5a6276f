// Runs in Node before the workerd test pool starts: the demo origin the gateway forwards to.
import { startDemoOrigin, type RunningOrigin } from "../demo-origin/server.ts";

let origin: RunningOrigin | undefined;

export async function setup(): Promise<void> {
  // vitest.config.ts picked the port and gave the gateway the matching ORIGIN_URL.
  origin = await startDemoOrigin(Number(process.env.DISTILLGUARD_TEST_ORIGIN_PORT));
}

export async function teardown(): Promise<void> {
  await origin?.close();
}
