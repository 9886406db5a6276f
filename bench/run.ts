/**
 * Runs the benchmarks: `npm run bench` runs all, `npm run bench -- fingerprint`
 * only those whose name contains an argument. Each module prints one JSON line
 * per case. Add a module by adding one entry to BENCHES.
 */
import { benchColdstart } from "./coldstart.ts";
import { benchDoRpc } from "./do-rpc/run.ts";
import { benchFingerprint } from "./fingerprint.ts";
import { benchGateway } from "./gateway.ts";
import { benchWrapper } from "./wrapper.ts";

const BENCHES: readonly { name: string; run: () => Promise<unknown> }[] = [
  { name: "fingerprint", run: benchFingerprint },
  { name: "gateway", run: benchGateway },
  { name: "do-rpc", run: benchDoRpc },
  { name: "coldstart", run: benchColdstart },
  { name: "wrapper", run: benchWrapper },
];

const filters = process.argv.slice(2).filter((arg) => arg !== "--");
const selected = BENCHES.filter((bench) => filters.length === 0 || filters.some((filter) => bench.name.includes(filter)));
if (selected.length === 0) {
  console.error(`no benchmark matches ${filters.join(", ")}; known: ${BENCHES.map((bench) => bench.name).join(", ")}`);
  process.exitCode = 1;
}
for (const bench of selected) await bench.run();
