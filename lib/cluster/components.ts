/**
 * Connected components over the account↔fingerprint graph (union-find with
 * path halving and union by size). Two accounts are linked when they share a
 * fingerprint key; components make a hydra that varies one fingerprint per
 * account but shares another into a single cluster.
 *
 * Also the linker's judgement of each component (worker/cron/linker.ts does
 * only the D1 reads and writes and the pushes to member accounts): which keys
 * link, which members sit on judged keys, and the component's id, verdict and
 * signature.
 */
import type { CachedVerdict } from "../decision.ts";
import { fnv1a32 } from "../fasthash.ts";
import type { Policy } from "../policy/index.ts";
import { isBroadKind, SIGNATURE_WRAPPERS, type Signature, type Verdict } from "./verdict.ts";

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

/** One row of the account↔fingerprint graph: an edge and its key's kind. */
export type GraphEdge = Edge & { kind: string };

/** A fingerprint key's own verdict (from its root), as the linker reads it. */
export type KeyJudgement = { verdict: Verdict; signature: Signature | undefined };

export type LinkRules = Pick<Policy["clusters"], "allowlist" | "linkIgnoreKinds" | "linkMaxAccounts">;

/** What the graph and the keys' verdicts say before components are drawn. */
export type LinkEvidence = {
  /** Edges that may link (kinds in linkIgnoreKinds removed). */
  edges: Edge[];
  /** Keys that link nothing: allow-listed, or shared by more than linkMaxAccounts accounts. */
  ignore: Set<string>;
  /** Accounts on a narrow key judged confirmed, and on one judged suspect. */
  confirmed: Set<string>;
  suspect: Set<string>;
  /**
   * Per account, the signatures of the judged keys it sits on, broad ones included: they name the
   * template. A broad key's comes without its elicitation flag: its own verdict never lands by
   * elicitation (verdictApplies), and through a component it would land on every eliciting request of
   * every honest account that shares the SDK build or TLS stack.
   */
  signatures: Map<string, Signature[]>;
  /**
   * Accounts linked by a narrow key (a card, a prefix, a prompt) or sitting on a judged narrow one:
   * the others are in a component only through a client or network that many unrelated customers share.
   */
  narrow: Set<string>;
};

export function linkEvidence(graph: readonly GraphEdge[], keys: ReadonlyMap<string, KeyJudgement>, rules: LinkRules): LinkEvidence {
  const ignoreKinds = new Set(rules.linkIgnoreKinds);
  const perKey = new Map<string, number>();
  for (const e of graph) perKey.set(e.key, (perKey.get(e.key) ?? 0) + 1);
  const ignore = new Set(rules.allowlist);
  // A key that many accounts share links nothing, verdict or not: a campaign hiding in the crowd of
  // one SDK build must not pull the crowd into its component.
  for (const [key, n] of perKey) if (n > rules.linkMaxAccounts) ignore.add(key);
  const edges: Edge[] = graph.filter((e) => !ignoreKinds.has(e.kind)).map((e) => ({ accountId: e.accountId, key: e.key }));

  const confirmed = new Set<string>();
  const suspect = new Set<string>();
  const signatures = new Map<string, Signature[]>();
  const narrow = new Set<string>();
  for (const e of graph) {
    if (ignore.has(e.key)) continue;
    const broad = isBroadKind(e.kind);
    if (!broad && !ignoreKinds.has(e.kind) && (perKey.get(e.key) ?? 0) >= 2) narrow.add(e.accountId);
    const judged = keys.get(e.key);
    if (judged === undefined) continue;
    if (judged.signature) {
      const own = broad ? { ...judged.signature, eliciting: false } : judged.signature;
      const list = signatures.get(e.accountId);
      if (list) list.push(own);
      else signatures.set(e.accountId, [own]);
    }
    // Being on a broad key (an SDK build, a TLS stack) with a verdict says nothing about this account.
    if (broad) continue;
    narrow.add(e.accountId);
    if (judged.verdict === "confirmed") confirmed.add(e.accountId);
    else if (judged.verdict === "suspect") suspect.add(e.accountId);
  }
  return { edges, ignore, confirmed, suspect, signatures, narrow };
}

/** Stable while the smallest member stays: "cc:" + 8 hex digits of its hash. */
export function componentId(component: Component): string {
  return `cc:${fnv1a32(component.accounts[0] ?? "").toString(16).padStart(8, "0")}`;
}

/** The verdict of a component from its members' keys: see policy.clusters.componentConfirmShare. */
export function componentVerdict(
  component: Component,
  confirmedMembers: number,
  suspectMembers: number,
  policy: Policy,
): Verdict {
  const size = component.accounts.length;
  if (size < 2) return "none";
  if (confirmedMembers / size >= policy.clusters.componentConfirmShare && size >= 2) return "confirmed";
  if (confirmedMembers > 0 || suspectMembers > 0 || size >= policy.clusters.minAccounts) return "suspect";
  return "none";
}

// Template bands a component's signature keeps: the campaign's dominant ones, across its keys.
const COMPONENT_SIGNATURE_BANDS = 8;

/** The names most members name (each member counted once per name), most common first, ties by name. */
function mostNamed(perMember: Iterable<Set<string>>, limit: number): string[] {
  const weight = new Map<string, number>();
  for (const names of perMember) for (const name of names) weight.set(name, (weight.get(name) ?? 0) + 1);
  return [...weight.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([name]) => name);
}

/**
 * What a component's campaign looks like: the template bands and wrapper keys
 * that the most members' judged keys name (as many wrappers as a key's own
 * signature keeps), and whether any of those keys elicits. A
 * component verdict lands only on member requests that look like this (see
 * verdictApplies), so an honest account linked into a campaign's component
 * through a shared exit or card is not treated as the campaign.
 */
export function componentSignature(memberKeys: Iterable<Signature[]>): Signature {
  const bands: Set<string>[] = [];
  const wrappers: Set<string>[] = [];
  let eliciting = false;
  for (const signatures of memberKeys) {
    bands.push(new Set(signatures.flatMap((s) => s.bands)));
    wrappers.push(new Set(signatures.flatMap((s) => s.wrappers ?? [])));
    eliciting ||= signatures.some((s) => s.eliciting);
  }
  const signature: Signature = { bands: mostNamed(bands, COMPONENT_SIGNATURE_BANDS), eliciting };
  // Absent rather than empty, so a component without wrappers keeps the signature text it always had.
  const top = mostNamed(wrappers, SIGNATURE_WRAPPERS);
  if (top.length > 0) signature.wrappers = top;
  return signature;
}

/** A component judged: what is stored for operators and what its members are told. */
export type ComponentJudgement = {
  id: string;
  verdict: Verdict;
  reasons: string[];
  signature: Signature;
  /** The verdict as member account objects cache it. */
  cached: CachedVerdict;
  /**
   * The verdict as one member is told it: `cached`, except that a member in the component only through
   * broad keys (LinkEvidence.narrow) is not told the campaign elicits. A broad key's own verdict would
   * land on its requests only by the campaign's template, wrappers or prompt, and the component must
   * not land more widely than that on a customer who merely uses the same client build.
   */
  cachedFor: (accountId: string) => CachedVerdict;
};

export function judgeComponent(component: Component, evidence: LinkEvidence, policy: Policy, now: number): ComponentJudgement {
  const id = componentId(component);
  const confirmed = component.accounts.filter((a) => evidence.confirmed.has(a)).length;
  const suspect = component.accounts.filter((a) => evidence.suspect.has(a)).length;
  const verdict = componentVerdict(component, confirmed, suspect, policy);
  const reasons = ["cluster.linked", ...(confirmed > 0 ? ["cluster.confirmed_keys"] : []), ...(suspect > 0 ? ["cluster.suspect_keys"] : [])];
  const signature = componentSignature(component.accounts.map((a) => evidence.signatures.get(a) ?? []));
  const cached: CachedVerdict = {
    cluster: id,
    verdict,
    capPerWindow: verdict === "confirmed" ? policy.clusters.aggregateCapPerWindow / component.accounts.length : null,
    reasons,
    decidedAt: now,
    signature,
  };
  const crowd: CachedVerdict = { ...cached, signature: { ...signature, eliciting: false } };
  const cachedFor = (accountId: string) => (signature.eliciting && !evidence.narrow.has(accountId) ? crowd : cached);
  return { id, verdict, reasons, signature, cached, cachedFor };
}
