/** What the gateway decided for each population × label, from its own decision log. */
import type { SentRequest } from "./request.ts";

export type ActionStats = {
  population: string;
  label: "attack" | "legit";
  requests: number;
  /** Action → requests; shadow decisions are counted as "<action>;shadow". */
  byAction: Record<string, number>;
  topReasons: { reason: string; count: number }[];
};

const TOP_REASONS = 8;

export class ActionTally {
  // population × label
  private readonly actions = new Map<string, ActionStats & { reasons: Map<string, number> }>();

  add(r: SentRequest): void {
    const label = r.attack ? "attack" : "legit";
    const gk = `${r.population}:${label}`;
    let st = this.actions.get(gk);
    if (!st) this.actions.set(gk, (st = { population: r.pop.name, label, requests: 0, byAction: {}, topReasons: [], reasons: new Map() }));
    st.requests++;
    const d = r.decision;
    // Allows are logged too (their risk feeds the account results), but this table is about acting.
    if (d && d.action !== "allow") {
      const name = d.enforced ? d.action : `${d.action};shadow`;
      st.byAction[name] = (st.byAction[name] ?? 0) + 1;
      for (const reason of d.reasons) st.reasons.set(reason, (st.reasons.get(reason) ?? 0) + 1);
    }
  }

  finish(): ActionStats[] {
    return [...this.actions.values()].map(({ reasons, ...st }) => ({
      ...st,
      topReasons: [...reasons].sort((x, y) => y[1] - x[1]).slice(0, TOP_REASONS).map(([reason, count]) => ({ reason, count })),
    }));
  }
}
