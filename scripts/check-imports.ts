/**
 * No import circles: two modules that import each other are one module, or a
 * third is missing (STYLE.md). Walks the relative imports of every .ts file
 * under the given folders (type-only imports included: a circle of types still
 * ties the modules together), and exits 1 naming each circle it finds.
 *
 *   npm run check:imports                    worker/ and lib/
 *   tsx scripts/check-imports.ts <dir>…      other folders
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const DEFAULT_DIRS = ["worker", "lib"];

// `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")`; comments are stripped first.
const SPECIFIER = /(?:\bimport\s+(?:type\s+)?(?:[^'"();]*?\s+from\s+)?|\bexport\s+(?:type\s+)?[^'"();]*?\s+from\s+|\bimport\s*\(\s*)["']([^"']+)["']/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  const out: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1];
    if (!specifier?.startsWith(".")) continue;
    const target = resolve(dirname(file), specifier);
    const candidates = [target, `${target}.ts`, join(target, "index.ts")];
    const found = candidates.find((c) => c.endsWith(".ts") && existsSync(c));
    if (found) out.push(found);
  }
  return out;
}

/** Strongly connected components of more than one file (or a file importing itself): Tarjan's algorithm. */
export function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, indexOf.get(next) ?? 0));
      }
    }
    if (low.get(node) !== indexOf.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) out.push(component.sort());
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return out;
}

function main(): void {
  const dirs = process.argv.slice(2);
  const roots = (dirs.length > 0 ? dirs : DEFAULT_DIRS).map((d) => resolve(ROOT, d));
  // Follow imports out of the folders too, so a circle that passes through another folder is caught.
  const graph = new Map<string, string[]>();
  const queue = roots.flatMap(sourceFiles);
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (graph.has(file)) continue;
    const imports = importsOf(file);
    graph.set(file, imports);
    queue.push(...imports);
  }
  const inRoots = (file: string) => roots.some((r) => file.startsWith(`${r}/`));
  const found = circles(graph).filter((c) => c.some(inRoots));
  if (found.length === 0) {
    console.log(`no import circles (${graph.size} files)`);
    return;
  }
  for (const c of found) console.error(`import circle: ${c.map((f) => relative(ROOT, f)).join(" ↔ ")}`);
  process.exit(1);
}

main();
