/** The run-to-run spread of the headline figures over repeated runs. */

export type Figure = { name: string; unit: "share" | "count" | "seconds"; value: number | null };

export type Spread = { name: string; unit: Figure["unit"]; runs: number; missing: number; min: number | null; median: number | null; max: number | null };

/** Min, median and max of each figure over runs; a run without the figure (never detected) counts as missing. */
export function spread(runs: readonly Figure[][]): Spread[] {
  const names: { name: string; unit: Figure["unit"] }[] = [];
  for (const run of runs) for (const f of run) if (!names.some((n) => n.name === f.name)) names.push({ name: f.name, unit: f.unit });
  return names.map(({ name, unit }) => {
    const values = runs.map((run) => run.find((f) => f.name === name)?.value ?? null);
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
    const mid = known.length / 2;
    const median = known.length === 0 ? null : known.length % 2 === 1 ? (known[Math.floor(mid)] ?? null) : ((known[mid - 1] ?? 0) + (known[mid] ?? 0)) / 2;
    return { name, unit, runs: runs.length, missing: values.length - known.length, min: known[0] ?? null, median, max: known[known.length - 1] ?? null };
  });
}
