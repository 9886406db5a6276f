// What wrangler, the vitest plugin and scripts/node-wasm.ts all give for a .wasm import, stated here
// for the Node type-check too, which does not read worker-configuration.d.ts.
declare const module: WebAssembly.Module;
export default module;
