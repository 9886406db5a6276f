/**
 * The request fingerprint: stable keys that accounts of one campaign share
 * (network, TLS, HTTP client, SDK, prompt template) and the features a request
 * asks for (capability, elicitation).
 *
 * Pure: no bindings, runs in workerd, Node and the simulator. Every input may
 * be missing or malformed; that yields null/"unknown" features, never a throw.
 * Nothing here returns raw prompt text or credentials: text is reduced to
 * hashes, and credential headers are excluded before anything is read.
 */
import type { Policy } from "../policy/index.ts";
import { type ClientFeatures, clientFeatures } from "./client.ts";
import {
  type Capability,
  type ContentFeatures,
  capabilityOf,
  normalizeText,
  RAW_FACTOR,
  type RawContent,
  rawContentOf,
  systemPromptSha256,
} from "./content.ts";
import { ContentMemo } from "./content-memo.ts";
import { type Elicitation, elicitationScore, isAllowedSystemPrompt } from "./elicitation.ts";
import { hashFields } from "../fasthash.ts";
import { type NetworkFeatures, networkFeatures } from "./network.ts";
import { bandKeys, simhash } from "./simhash.ts";
import { type TlsFeatures, tlsFeatures, tlsKeyHash } from "./tls.ts";
import { wrapperKeys } from "./wrapper.ts";

export type { Capability, ClientFeatures, ContentFeatures, Elicitation, NetworkFeatures, TlsFeatures };
export { isAllowedSystemPrompt } from "./elicitation.ts";
export { EMPTY_SIMHASH, SIMHASH_NEAR_DISTANCE, bandKeys, hammingDistance } from "./simhash.ts";

export type FingerprintInput = {
  cf: Record<string, unknown> | undefined;
  headers: Headers;
  ip: string | null;
  /** Parsed JSON body, or undefined when the body was not JSON. */
  body: unknown;
  policy: Policy;
};

/**
 * Cluster-candidate keys, each prefixed by its kind. Null means "no evidence
 * of this kind" (e.g. no TLS info in local dev, no SDK headers): such requests
 * are not counted together under one giant "unknown" key.
 */
export type FingerprintKeys = {
  asn: string | null;
  prefix: string | null;
  tls: string | null;
  sdk: string | null;
  headers: string;
  system: string | null;
  /** `tpl:<band>:<4 hex>`, one per SimHash band; empty when the text is too short to be a template. */
  template: string[];
  /**
   * `wrap:p:<hex16>` / `wrap:s:<hex16>`: the leading and trailing segments of the first user turn,
   * at most one of each; what a campaign's fixed instruction around varied content leaves constant.
   */
  wrapper: string[];
  /** One key per `policy.clusters.combinations` entry whose parts are all present, e.g. `tls+sdk:<hex16>`. */
  combo: string[];
};

export type Fingerprint = {
  keys: FingerprintKeys;
  /** The system prompt is allow-listed: system, template and wrapper keys are not cluster candidates. */
  templateAllowlisted: boolean;
  network: NetworkFeatures;
  tls: TlsFeatures;
  client: ClientFeatures;
  content: ContentFeatures;
  capability: Capability;
  elicitation: Elicitation;
  /** 16 hex digits; EMPTY_SIMHASH when there was no text. */
  simhash: string;
};

// A template is a paragraph, not a greeting or a one-line ask: below this many words ("hi",
// "give me 5 name ideas for a coffee shop") unrelated users share a key by sheer vocabulary,
// while campaign templates (instructions plus the item) run to dozens of words.
export const MIN_TEMPLATE_SHINGLES = 24;
// Without a system prompt the user turn gets the whole budget; with one, the
// user turn keeps at least a quarter, so a long constant system prompt cannot
// push the part that varies (and any elicitation in it) out of view.
const USER_MIN_SHARE = 0.25;

const SUMMARY_MAX_CHARS = 512;

function comboKeys(policy: Policy, parts: Record<string, string | null | string[]>): string[] {
  const keys: string[] = [];
  for (const kinds of policy.clusters.combinations) {
    const values: (string | null)[] = [];
    let template: string[] | null = null;
    for (const kind of kinds) {
      const name = kind === "tpl" ? "template" : kind;
      // hasOwn: a policy kind like "constructor" must not reach Object.prototype.
      const part = Object.hasOwn(parts, name) ? parts[name] : null;
      if (Array.isArray(part)) template = part;
      else values.push(part ?? null);
    }
    // Unknown kinds read as null, so a typo in the policy makes no key rather than a bogus one.
    if (values.includes(null) || (template !== null && template.length === 0)) continue;
    const name = kinds.join("+");
    if (template === null) keys.push(`${name}:${hashFields(values)}`);
    else for (const band of template) keys.push(`${name}:${hashFields([...values, band])}`);
  }
  return keys;
}

export async function fingerprintRequest(input: FingerprintInput): Promise<Fingerprint> {
  const { policy } = input;
  const maxBytes = policy.fingerprint.maxContentBytes;
  const network = networkFeatures(input.cf, input.ip);
  const tls = tlsFeatures(input.cf);
  const client = clientFeatures(input.headers, tls);
  const capability = capabilityOf(input.body);

  const rawCap = maxBytes * RAW_FACTOR;
  const raw = rawContentOf(input.body, rawCap);
  const { work, templateAllowlisted } = await contentWork(raw, maxBytes, rawCap, policy);
  const { system, text, sim } = work;

  const keys: FingerprintKeys = {
    asn: network.asn === null ? null : `asn:${network.asn}`,
    prefix: network.prefix === null ? null : `prefix:${network.prefix}`,
    tls: prefixed("tls", tlsKeyHash(tls)),
    sdk:
      client.sdk === null
        ? null
        : `sdk:${hashFields([
            client.sdk.lang,
            client.sdk.packageVersion,
            client.sdk.os,
            client.sdk.arch,
            client.sdk.runtime,
            client.sdk.runtimeVersion,
            client.anthropicVersion,
            client.anthropicBeta.join(","),
            client.uaFamily,
          ])}`,
    headers: `headers:${hashFields([client.headerNames.join(","), client.uaFamily, client.accept, client.acceptEncoding, client.acceptLanguage])}`,
    system: system === null ? null : `system:${system.hex.slice(0, 16)}`,
    // Copies: the arrays in the memo serve every later request with the same prompt.
    template: [...work.template],
    wrapper: [...work.wrapper],
    combo: [],
  };
  keys.combo = comboKeys(policy, {
    asn: keys.asn,
    prefix: keys.prefix,
    tls: keys.tls,
    sdk: keys.sdk,
    headers: keys.headers,
    system: templateAllowlisted ? null : keys.system,
    template: templateAllowlisted ? [] : keys.template,
  });

  return {
    keys,
    templateAllowlisted,
    network,
    tls,
    client,
    content: {
      hasSystem: raw.system !== null,
      systemSha256: system?.hex ?? null,
      systemTruncated: system?.truncated ?? false,
      textBytes: text.bytes,
      truncated: text.truncated,
      shingles: sim.shingles,
      messageCount: raw.messageCount,
    },
    capability,
    elicitation: { score: work.elicitation.score, reasons: [...work.elicitation.reasons] },
    simhash: sim.hex,
  };
}

/** What the content steps make of a prompt: all of it a pure function of the raw text and the byte budget. */
type ContentWork = {
  system: { hex: string; truncated: boolean } | null;
  text: { bytes: number; truncated: boolean };
  sim: { hex: string; shingles: number };
  template: readonly string[];
  wrapper: readonly string[];
  elicitation: Elicitation;
};

// 1,024 prompts and 4 M characters (8 MB at worst): an isolate's live conversations, while one
// prompt at the default budget (64 K characters per part, read before normalising) leaves room
// for thirty others.
const CONTENT_MEMO_ENTRIES = 1_024;
const CONTENT_MEMO_CHARS = 4 * 1024 * 1024;
const contentMemo = new ContentMemo<ContentWork>(CONTENT_MEMO_ENTRIES, CONTENT_MEMO_CHARS);

/** The text-derived parts, from the normalised text (the system prompt left out when allow-listed). */
function textWork(raw: RawContent, maxBytes: number, skipSystem: boolean): Pick<ContentWork, "text" | "sim" | "template" | "elicitation"> {
  const text = textOf(raw, maxBytes, skipSystem);
  const sim = simhash(text.text);
  return {
    text: { bytes: text.bytes, truncated: text.truncated },
    sim,
    template: sim.shingles >= MIN_TEMPLATE_SHINGLES ? bandKeys(sim.hex) : [],
    elicitation: elicitationScore(text.text),
  };
}

/**
 * The content steps for this prompt, from the memo when the same system prompt and first user turn
 * came before (lib/fingerprint/content-memo.ts). An allow-listed system prompt is looked up in the
 * policy on every request, and its rare text without the prompt is not kept: the memo holds only what
 * no policy changes.
 */
async function contentWork(
  raw: RawContent,
  maxBytes: number,
  rawCap: number,
  policy: Policy,
): Promise<{ work: ContentWork; templateAllowlisted: boolean }> {
  const kept = contentMemo.get(raw.system, raw.user, maxBytes);
  if (kept !== undefined) {
    if (!isAllowedSystemPrompt(kept.system?.hex ?? null, policy)) return { work: kept, templateAllowlisted: false };
    return { work: { ...kept, ...textWork(raw, maxBytes, true) }, templateAllowlisted: true };
  }
  // Started first, awaited last: in Node the digest runs on the thread pool,
  // so the text work below overlaps it instead of waiting for it.
  const systemDigest = raw.system === null ? null : systemPromptSha256(raw.system, maxBytes);
  const withSystem = textWork(raw, maxBytes, false);
  const system = systemDigest === null ? null : await systemDigest;
  const wrapper = wrapperKeys(raw.user);
  if (isAllowedSystemPrompt(system?.hex ?? null, policy)) {
    // Rare path: redo the text without the allow-listed prompt.
    return { work: { system, wrapper, ...textWork(raw, maxBytes, true) }, templateAllowlisted: true };
  }
  const work: ContentWork = { system, wrapper, ...withSystem };
  // A part cut at the cap is a slice, which keeps the whole string it was cut from alive: not kept.
  if (raw.user.length < rawCap && (raw.system?.length ?? 0) < rawCap) contentMemo.set(raw.system, raw.user, maxBytes, work);
  return { work, templateAllowlisted: false };
}

/** Forget every prompt kept (tests: a fresh isolate). */
export function forgetContentMemo(): void {
  contentMemo.clear();
}

/**
 * The normalised, bounded text the SimHash and the elicitation score read. An
 * allow-listed system prompt is left out entirely, so its users' SimHash and
 * elicitation reflect only what they wrote themselves.
 */
function textOf(raw: RawContent, maxBytes: number, skipSystem: boolean): { text: string; bytes: number; truncated: boolean } {
  const userReserve = raw.user.length === 0 ? 0 : Math.floor(maxBytes * USER_MIN_SHARE);
  const system = raw.system === null || skipSystem ? { text: "", bytes: 0, truncated: false } : normalizeText(raw.system, maxBytes - userReserve);
  const separator = system.bytes > 0 ? 1 : 0;
  const user = normalizeText(raw.user, maxBytes - system.bytes - separator);
  return {
    text: system.text === "" ? user.text : user.text === "" ? system.text : `${system.text} ${user.text}`,
    bytes: system.bytes + user.bytes + (system.text !== "" && user.text !== "" ? 1 : 0),
    truncated: system.truncated || user.truncated,
  };
}

function prefixed(kind: string, hash: string | null): string | null {
  return hash === null ? null : `${kind}:${hash}`;
}

/**
 * The keys this request counts towards: every non-null key, minus system,
 * template and wrapper keys of an allow-listed prompt (a tool that fixes the
 * system prompt usually fixes the user turn's framing too), minus
 * `policy.clusters.allowlist`.
 */
export function clusterKeysOf(fp: Fingerprint, policy: Policy): string[] {
  const { keys } = fp;
  const all = [keys.asn, keys.prefix, keys.tls, keys.sdk, keys.headers];
  if (!fp.templateAllowlisted) all.push(keys.system, ...keys.template, ...keys.wrapper);
  all.push(...keys.combo);
  const allowlist = policy.clusters.allowlist;
  return all.filter((key): key is string => key !== null && !allowlist.includes(key));
}

/** A key's value without its kind prefix, for the compact summary. */
function bare(key: string | null): string {
  return key === null ? "-" : key.slice(key.indexOf(":") + 1);
}

/**
 * One line for the origin's trusted `x-distillguard-fingerprint` header:
 * printable ASCII, no `;`/`=` inside values, at most 512 characters. Holds
 * hashes, codes and numbers only, never prompt text or credentials.
 */
export function summary(fp: Fingerprint): string {
  const fields: [string, string][] = [
    ["asn", fp.network.asn === null ? "-" : String(fp.network.asn)],
    ["cc", fp.network.country ?? "-"],
    ["prefix", fp.network.prefix ?? "-"],
    ["tls", bare(fp.keys.tls)],
    ["sdk", bare(fp.keys.sdk)],
    ["hdr", bare(fp.keys.headers)],
    ["sys", bare(fp.keys.system)],
    ["tpl", fp.simhash],
    ["tplok", fp.templateAllowlisted ? "1" : "0"],
    ["ua", fp.client.uaFamily],
    ["elic", fp.elicitation.score.toFixed(2)],
    ["why", fp.elicitation.reasons.join(",") || "-"],
    ["mismatch", fp.client.mismatch ? "1" : "0"],
    ["mm", fp.client.mismatchReasons.join(",") || "-"],
    // Last: a full line drops it before the fields that explain a decision.
    ["wrap", fp.keys.wrapper.map((key) => key.slice("wrap:".length)).join(",") || "-"],
  ];
  let line = "";
  for (const [name, value] of fields) {
    const entry = `${name}=${value.replace(/[^\x21-\x7e]|[;=]/g, "_")}`;
    if (line.length + entry.length + 1 > SUMMARY_MAX_CHARS) break;
    line += (line === "" ? "" : ";") + entry;
  }
  return line;
}

/** The name the Worker uses for `summary`. */
export const summarizeFingerprint = summary;
