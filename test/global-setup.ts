// Runs in Node before the workerd test pool starts: the demo origin the gateway forwards to.
import { startDemoOrigin, type RunningOrigin } from "../demo-origin/server.ts";

const TEST_ORIGIN_PORT = 18788;
let origin: RunningOrigin | undefined;

export async function setup(): Promise<void> {
  origin = await startDemoOrigin(TEST_ORIGIN_PORT);
}

export async function teardown(): Promise<void> {
  await origin?.close();
}
