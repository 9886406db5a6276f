/**
 * Builds lib/fingerprint/wasm/elicitation.wasm from its AssemblyScript source
 * (elicitation.as next to it) and records what it was built from.
 *
 *   npm run build:wasm              compile and write the binary and its record
 *   npm run build:wasm -- --check   fail if the committed binary is not what the source gives
 *
 * The binary is committed, so nothing else (tests, `npm run build`, deploy)
 * needs a compiler. With the compiler at hand (the assemblyscript
 * devDependency, or ASC=/path/to/asc) --check compiles and compares bytes;
 * without it, it checks the record: the source's SHA-256 and the binary's.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DIR = "lib/fingerprint/wasm";
const SOURCE = join(DIR, "elicitation.as");
const BINARY = join(DIR, "elicitation.wasm");
const RECORD = join(DIR, "build.json");
const COMPILER = "assemblyscript 0.28.20";
// No runtime or allocator (the caller lays out memory), no imports (no abort handler), so the Worker
// instantiates it with nothing; bounds are the caller's to keep, as in the JavaScript it replaced.
const FLAGS = ["--runtime", "stub", "--use", "abort=", "--noAssert", "-O3", "--converge"];

type Record = { compiler: string; flags: string[]; sourceSha256: string; wasmSha256: string; bytes: number };

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function compiler(): string | null {
  const candidates = [process.env.ASC, "node_modules/.bin/asc"].filter((path): path is string => path !== undefined && path !== "");
  return candidates.find((path) => existsSync(path)) ?? null;
}

function compile(asc: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "distillguard-wasm-"));
  try {
    // asc reads only .ts entry files; the source keeps another extension so that TypeScript does not read it.
    copyFileSync(SOURCE, join(dir, "elicitation.ts"));
    const version = execFileSync(asc, ["--version"], { encoding: "utf8" }).trim();
    if (!version.includes(COMPILER.split(" ")[1] ?? "")) throw new Error(`${asc} is ${version}; the binary is built with ${COMPILER}`);
    execFileSync(asc, [join(dir, "elicitation.ts"), "-o", join(dir, "elicitation.wasm"), ...FLAGS], { stdio: "inherit" });
    return readFileSync(join(dir, "elicitation.wasm"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const check = process.argv.includes("--check");
const source = readFileSync(SOURCE);
const asc = compiler();

if (check) {
  const committed = readFileSync(BINARY);
  const record = JSON.parse(readFileSync(RECORD, "utf8")) as Record;
  const problems: string[] = [];
  if (record.sourceSha256 !== sha256(source)) problems.push(`${SOURCE} changed since ${BINARY} was built`);
  if (record.wasmSha256 !== sha256(committed)) problems.push(`${BINARY} is not the binary ${RECORD} records`);
  if (asc !== null && problems.length === 0 && sha256(compile(asc)) !== record.wasmSha256) problems.push(`${SOURCE} does not compile to the committed ${BINARY}`);
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    console.error("rebuild with `npm run build:wasm`");
    process.exit(1);
  }
  console.log(`${BINARY} matches its source (${asc === null ? "recorded hashes; no compiler here to rebuild it" : "rebuilt byte for byte"})`);
} else {
  if (asc === null) {
    console.error(`no AssemblyScript compiler: npm install (devDependency ${COMPILER}), or ASC=/path/to/asc`);
    process.exit(1);
  }
  const wasm = compile(asc);
  writeFileSync(BINARY, wasm);
  const record: Record = { compiler: COMPILER, flags: FLAGS, sourceSha256: sha256(source), wasmSha256: sha256(wasm), bytes: wasm.length };
  writeFileSync(RECORD, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`${BINARY}: ${wasm.length} bytes, sha256 ${record.wasmSha256}`);
}
