/**
 * Policy files from the command line, checked by the same validatePolicy the
 * gateway uses, so a file that passes here is one the gateway accepts.
 *
 *   npm run policy:validate -- <file>                     every problem, exit 1; or "ok"
 *   npm run policy:push -- <file>                         validate, then write to local KV (npm start / wrangler dev)
 *   npm run policy:push:remote -- <file> [--env <name>]   validate, then write to the deployed KV namespace
 *
 * Isolates pick a pushed policy up within cache.policyTtlSeconds. With a
 * running gateway, `PUT /admin/policy` does the same and applies it at once in
 * the isolate that served the call.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { validatePolicy } from "../lib/policy/index.ts";

const USAGE = `usage: tsx scripts/policy.ts validate <file>
       tsx scripts/policy.ts push <file> (--local | --remote) [--env <name>]`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function parseArgs(argv: string[]) {
  const [command, ...rest] = argv;
  let file: string | undefined;
  let target: "--local" | "--remote" | undefined;
  let env: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--local" || arg === "--remote") target = arg;
    else if (arg === "--env" || arg === "-e") env = rest[++i] ?? fail("--env needs a name");
    else if (arg?.startsWith("--env=")) env = arg.slice("--env=".length);
    else if (arg !== undefined && !arg.startsWith("-") && file === undefined) file = arg;
    else fail(`unexpected argument ${arg}\n${USAGE}`);
  }
  if ((command !== "validate" && command !== "push") || file === undefined) fail(USAGE);
  if (command === "push" && target === undefined) fail(`push needs --local or --remote\n${USAGE}`);
  return { command, file, target, env };
}

const args = parseArgs(process.argv.slice(2));

let text: string;
try {
  text = readFileSync(args.file, "utf8");
} catch (err) {
  fail(`cannot read ${args.file}: ${(err as Error).message}`);
}

const result = validatePolicy(text);
if (!result.ok) {
  for (const problem of result.problems) console.error(`${args.file}: ${problem.path || "(root)"}: ${problem.message}`);
  fail(`${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}; nothing written`);
}

if (args.command === "validate") {
  console.log("ok");
  process.exit(0);
}

const wranglerArgs = ["kv", "key", "put", "policy", "--binding", "CONFIG", "--path", args.file];
if (args.target) wranglerArgs.push(args.target);
if (args.env) wranglerArgs.push("--env", args.env);
console.log(`policy version ${result.policy.version} (${result.policy.mode}) → wrangler ${wranglerArgs.join(" ")}`);
const put = spawnSync("wrangler", wranglerArgs, { stdio: "inherit" });
process.exit(put.status ?? 1);
