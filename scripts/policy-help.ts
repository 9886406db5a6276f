/**
 * The console's policy field help (console/policy-help.json), generated from the doc comments on the
 * schema's fields in lib/policy/ (every section module) and the schemas it mounts (lib/entitlements.ts, lib/launch-guard.ts),
 * so the help says what the schema says and nobody keeps a second copy by hand.
 *
 *   npm run policy:help            rewrite console/policy-help.json
 *   npm run policy:help -- --check exit 1 when the file is not what the schema gives (run by typecheck)
 *
 * A path is the field's place in the document, dot-separated; `*` stands for any key of a record or
 * any element of a list (`tiers.*.requests`, `entitlements.*.maxTokens`).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
// Every module of lib/policy/, so a section moved into a file of its own is documented without a change here.
const POLICY_FILES = readdirSync(join(ROOT, "lib", "policy"))
  .filter((name) => name.endsWith(".ts"))
  .sort()
  .map((name) => `lib/policy/${name}`);
const SOURCES = [...POLICY_FILES, "lib/entitlements.ts", "lib/launch-guard.ts"];
const ROOT_SCHEMA = "policySchema";
const OUT = join(ROOT, "console", "policy-help.json");

// A schema nested inside one of these calls is a record's values or a list's elements: one `*` segment.
const WILDCARD_CALLS = new Set(["z.record", "z.partialRecord", "z.array"]);

type Found = { variable: string; path: string[]; node: ts.Node };

const propertyName = (node: ts.PropertyAssignment): string | null =>
  ts.isIdentifier(node.name) || ts.isStringLiteral(node.name) ? node.name.text : null;

/** The segments between `node` and the nearest enclosing property or variable, and that container. */
function climb(node: ts.Node): { segments: string[]; container: ts.Node | null } {
  const segments: string[] = [];
  let child = node;
  for (let parent = node.parent; parent; child = parent, parent = parent.parent) {
    if (ts.isCallExpression(parent) && parent.arguments.includes(child as ts.Expression) && WILDCARD_CALLS.has(parent.expression.getText())) {
      // z.record(keySchema, valueSchema): only the value side is a level of the document.
      if (parent.expression.getText() === "z.array" || parent.arguments.indexOf(child as ts.Expression) === parent.arguments.length - 1) {
        segments.unshift("*");
      }
    }
    if (ts.isPropertyAssignment(parent) || ts.isVariableDeclaration(parent)) return { segments, container: parent };
  }
  return { segments, container: null };
}

/** A node's full path inside its variable: every enclosing property, with `*` for records and lists. */
function pathInVariable(node: ts.Node): { variable: string; path: string[] } | null {
  const path: string[] = [];
  let at: ts.Node = node;
  for (;;) {
    const { segments, container } = climb(at);
    path.unshift(...segments);
    if (container === null) return null;
    if (ts.isVariableDeclaration(container)) return ts.isIdentifier(container.name) ? { variable: container.name.text, path } : null;
    const name = propertyName(container as ts.PropertyAssignment);
    if (name === null) return null;
    path.unshift(name);
    at = container;
  }
}

function docOf(node: ts.Node): string {
  return ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "")
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
}

export function policyHelp(): Record<string, string> {
  const documented: Found[] = [];
  /** Where each schema variable is used inside another: `clusterVerdictSchema` at clusters.verdict. */
  const mounts = new Map<string, Array<{ variable: string; path: string[] }>>();
  for (const file of SOURCES) {
    const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAssignment(node) && docOf(node) !== "") {
        const where = pathInVariable(node.initializer);
        if (where) documented.push({ variable: where.variable, path: where.path, node });
      }
      if (ts.isIdentifier(node) && /Schema$/.test(node.text) && !ts.isVariableDeclaration(node.parent) && !ts.isImportSpecifier(node.parent)) {
        const where = pathInVariable(node);
        if (where && where.variable !== node.text) mounts.set(node.text, [...(mounts.get(node.text) ?? []), where]);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }

  /** Every path a variable's fields sit under in the policy document. */
  const rootsOf = (variable: string, seen: Set<string>): string[][] => {
    if (variable === ROOT_SCHEMA) return [[]];
    if (seen.has(variable)) return [];
    return (mounts.get(variable) ?? []).flatMap((m) => rootsOf(m.variable, new Set([...seen, variable])).map((root) => [...root, ...m.path]));
  };

  const help: Record<string, string> = {};
  for (const found of documented) {
    for (const root of rootsOf(found.variable, new Set())) {
      help[[...root, ...found.path].join(".")] = docOf(found.node);
    }
  }
  return Object.fromEntries(Object.entries(help).sort(([a], [b]) => (a < b ? -1 : 1)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = `${JSON.stringify(policyHelp(), null, 2)}\n`;
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(OUT, "utf8");
    } catch {
      // missing: as stale as a wrong one
    }
    if (current !== text) {
      console.error("console/policy-help.json is not what lib/policy/ documents: run npm run policy:help");
      process.exitCode = 1;
    }
  } else {
    writeFileSync(OUT, text);
    console.log(`console/policy-help.json: ${Object.keys(JSON.parse(text) as object).length} fields`);
  }
}
