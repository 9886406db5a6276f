/** Serves the demo origin on Node (used by `npm start`, the test setup and the simulator). */
import { serve, type ServerType } from "@hono/node-server";
import { createDemoOrigin, createDemoStats, type DemoStats } from "./app.ts";

export type RunningOrigin = { url: string; stats: DemoStats; close: () => Promise<void> };

export function startDemoOrigin(port: number, hostname = "127.0.0.1"): Promise<RunningOrigin> {
  const stats = createDemoStats();
  const app = createDemoOrigin(stats);
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined;
    try {
      server = serve({ fetch: app.fetch, port, hostname }, (info) => {
        resolve({
          url: `http://${hostname}:${info.port}`,
          stats,
          close: () => new Promise<void>((done) => (server ? server.close(() => done()) : done())),
        });
      });
      server.on("error", reject);
    } catch (err) {
      reject(err);
    }
  });
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const port = Number(process.env.DEMO_ORIGIN_PORT ?? 8788);
  const origin = await startDemoOrigin(port);
  console.log(`demo origin listening on ${origin.url}`);
}
