/**
 * Lets Node import a .wasm file as wrangler does for a Worker: the default
 * export is the compiled WebAssembly.Module. Node itself has no such import
 * (its own wasm modules are instantiated, not handed over), and the scorer
 * (lib/fingerprint/elicitation-wasm.ts) must read the same in both.
 *
 * Loaded before the entry point by the npm scripts that reach the scorer:
 * `tsx --import ./scripts/node-wasm.ts <entry>`.
 */
import { registerHooks } from "node:module";

registerHooks({
  load(url, context, nextLoad) {
    if (!new URL(url).pathname.endsWith(".wasm")) return nextLoad(url, context);
    const source = `import { readFileSync } from "node:fs";\nexport default new WebAssembly.Module(readFileSync(new URL(${JSON.stringify(url)})));\n`;
    return { format: "module", source, shortCircuit: true };
  },
});
