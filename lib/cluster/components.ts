/**
 * Connected components over the account↔fingerprint graph (union-find with
 * path halving and union by size). Two accounts are linked when they share a
 * fingerprint key; components make a hydra that varies one fingerprint per
 * account but shares another into a single cluster.
 */

export class UnionFind {
  private readonly parent = new Map<string, string>();
  private readonly size = new Map<string, number>();

  find(x: string): string {
    if (!this.parent.has(x)) {
      this.parent.set(x, x);
      this.size.set(x, 1);
      return x;
    }
    let node = x;
    for (;;) {
      const parent = this.parent.get(node) ?? node;
      if (parent === node) return node;
      const grand = this.parent.get(parent) ?? parent;
      this.parent.set(node, grand);
      node = grand;
    }
  }

  union(a: string, b: string): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if ((this.size.get(ra) ?? 1) < (this.size.get(rb) ?? 1)) [ra, rb] = [rb, ra];
    this.parent.set(rb, ra);
    this.size.set(ra, (this.size.get(ra) ?? 1) + (this.size.get(rb) ?? 1));
  }

  /** Every element grouped by its root. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const x of this.parent.keys()) {
      const root = this.find(x);
      const group = out.get(root);
      if (group) group.push(x);
      else out.set(root, [x]);
    }
    return out;
  }
}

export type Edge = { accountId: string; key: string };

export type Component = {
  /** Members, sorted. */
  accounts: string[];
  /** The fingerprint keys that link two or more of its members, sorted. */
  keys: string[];
};

/**
 * Components with at least `minSize` accounts. Keys shared by a single account
 * link nothing; keys in `ignore` (allow-listed NATs, tools) never link.
 */
export function connectedComponents(edges: Iterable<Edge>, options: { minSize: number; ignore?: ReadonlySet<string> }): Component[] {
  const byKey = new Map<string, string[]>();
  for (const { accountId, key } of edges) {
    if (options.ignore?.has(key)) continue;
    const members = byKey.get(key);
    if (members) members.push(accountId);
    else byKey.set(key, [accountId]);
  }
  const uf = new UnionFind();
  const linkingKeys: Array<[string, string]> = [];
  for (const [key, members] of byKey) {
    if (members.length < 2) continue;
    const first = members[0];
    if (first === undefined) continue;
    for (const member of members) uf.union(first, member);
    linkingKeys.push([key, first]);
  }
  const keysByRoot = new Map<string, string[]>();
  for (const [key, member] of linkingKeys) {
    const root = uf.find(member);
    const keys = keysByRoot.get(root);
    if (keys) keys.push(key);
    else keysByRoot.set(root, [key]);
  }
  const out: Component[] = [];
  for (const [root, accounts] of uf.groups()) {
    if (accounts.length < options.minSize) continue;
    out.push({ accounts: accounts.sort(), keys: (keysByRoot.get(root) ?? []).sort() });
  }
  return out.sort((a, b) => b.accounts.length - a.accounts.length);
}
