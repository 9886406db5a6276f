/**
 * fingerprintRequest on parsed Messages API bodies of 1 KB, 16 KB and 1 MB.
 * Targets: p50 ≤ 0.3 ms at 16 KB; 1 MB no slower than 2× 16 KB (content work
 * is bounded by policy.fingerprint.maxContentBytes, default 16 KB).
 *
 * The elicitation scorer alone, on 16 KB of normalised text: model + rules as
 * the fingerprint runs it, each part, and the UTF-8 encoding both parts start
 * with. Target: ≤ 0.1 ms.
 *
 * The same bodies again (`fingerprint-repeated/…`): what a conversation's later turns cost, whose
 * system prompt and first user turn the content memo already holds.
 *
 * Prints one JSON line per case: {"name","p50_ms","p99_ms","iterations"}.
 */
import { normalizeText } from "../lib/fingerprint/content.ts";
import { elicitationScore, modelScore, ruleScore } from "../lib/fingerprint/elicitation.ts";
import { unpackModel } from "../lib/fingerprint/elicitation-features.ts";
import { ELICITATION_MODEL } from "../lib/fingerprint/elicitation-model.ts";
import { fingerprintRequest, forgetContentMemo, type FingerprintInput } from "../lib/fingerprint/index.ts";
import { DEFAULT_POLICY } from "../lib/policy/index.ts";
import { AWS_NODE_CF, NODE_SDK_HEADERS } from "../test/lib/fingerprint/helpers.ts";
import { percentile, round } from "./harness.ts";

export type BenchResult = { name: string; p50_ms: number; p99_ms: number; iterations: number };

const SYSTEM_SENTENCES = [
  "You are an expert software engineer and patient teacher.",
  "Answer the user's question accurately and cite the relevant documentation when possible.",
  "When the user shares code, review it for correctness, security and performance before suggesting changes.",
  "Prefer small, well-tested functions and explain trade-offs in plain language.",
  "If a request is ambiguous, state your assumptions and proceed with the most likely interpretation.",
  "Format code blocks with the correct language tag and keep explanations under 300 words unless asked otherwise.",
];
const USER_SENTENCES = [
  "I have a TypeScript service that parses 42 CSV files per minute and sometimes runs out of memory.",
  "Here is the relevant part of the loader, which streams rows into a Map keyed by customer id.",
  "Could you explain why the heap keeps growing after 3 hours and how to fix it without a rewrite?",
  "We deploy on Node 22 with 512 MB containers and the files are between 1 MB and 80 MB each.",
  "Please also suggest a test that would have caught this regression before release 7.4.1.",
];

function textOf(sentences: readonly string[], bytes: number, salt: number): string {
  let out = "";
  for (let i = 0; out.length < bytes; i++) out += `${sentences[(i + salt) % sentences.length]} (${i}) `;
  return out.slice(0, bytes);
}

/** A realistic body whose JSON is about `bytes` long: 1/4 system prompt, 3/4 first user turn. */
export function messagesBody(bytes: number, salt = 0): unknown {
  const json = {
    model: "claude-sonnet-4-5",
    max_tokens: 2048,
    stream: true,
    system: [{ type: "text", text: textOf(SYSTEM_SENTENCES, Math.floor(bytes / 4), salt) }],
    messages: [{ role: "user", content: [{ type: "text", text: textOf(USER_SENTENCES, Math.floor((bytes * 3) / 4) - 200, salt) }] }],
  };
  return JSON.parse(JSON.stringify(json));
}



/**
 * `repeated`: every body was fingerprinted before (a conversation's later turns), so the content steps
 * come from the memo; otherwise the memo is emptied before each request and every one does the work.
 */
async function measure(name: string, bytes: number, iterations: number, repeated = false): Promise<BenchResult> {
  // Several distinct bodies, so no run leans on what the previous one left in the CPU's caches.
  const bodies = Array.from({ length: 8 }, (_, salt) => messagesBody(bytes, salt));
  const headers = new Headers(NODE_SDK_HEADERS);
  const input = (i: number): FingerprintInput => ({ cf: AWS_NODE_CF, headers, ip: "203.0.113.7", body: bodies[i % bodies.length], policy: DEFAULT_POLICY });
  for (let i = 0; i < Math.min(200, iterations); i++) await fingerprintRequest(input(i));
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    if (!repeated) forgetContentMemo();
    const start = performance.now();
    await fingerprintRequest(input(i));
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { name, p50_ms: round(percentile(samples, 0.5)), p99_ms: round(percentile(samples, 0.99)), iterations };
}

function measureSync(name: string, run: (i: number) => unknown, iterations: number): BenchResult {
  for (let i = 0; i < Math.min(500, iterations); i++) run(i);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    run(i);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { name, p50_ms: round(percentile(samples, 0.5)), p99_ms: round(percentile(samples, 0.99)), iterations };
}

function benchElicitation(): BenchResult[] {
  const texts = Array.from({ length: 8 }, (_, salt) => normalizeText(textOf([...SYSTEM_SENTENCES, ...USER_SENTENCES], 16 * 1024, salt), 16 * 1024).text);
  const model = unpackModel(ELICITATION_MODEL);
  const pick = (i: number) => texts[i % texts.length] ?? "";
  // What the scorer does before any hashing: the text's UTF-8 bytes, written in one native call.
  const encoder = new TextEncoder();
  const bytes = new Uint8Array(3 * 16 * 1024 + 1);
  return [
    measureSync("elicitation-utf8/16kb", (i) => encoder.encodeInto(pick(i), bytes).written, 5000),
    measureSync("elicitation/16kb", (i) => elicitationScore(pick(i)), 5000),
    measureSync("elicitation-model/16kb", (i) => modelScore(model, pick(i)), 5000),
    measureSync("elicitation-rules/16kb", (i) => ruleScore(pick(i)), 5000),
  ];
}

export async function benchFingerprint(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const result of benchElicitation()) {
    console.log(JSON.stringify(result));
    results.push(result);
  }
  for (const [name, bytes, iterations] of [
    ["fingerprint/1kb", 1024, 5000],
    ["fingerprint/16kb", 16 * 1024, 3000],
    ["fingerprint/1mb", 1024 * 1024, 1000],
  ] as const) {
    const result = await measure(name, bytes, iterations);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  for (const [name, bytes, iterations] of [
    ["fingerprint-repeated/1kb", 1024, 5000],
    ["fingerprint-repeated/16kb", 16 * 1024, 3000],
  ] as const) {
    const result = await measure(name, bytes, iterations, true);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  return results;
}
