/**
 * Content features of a Messages API body: the text a template hides in
 * (system prompt + first user turn), normalised so trivial variations vanish,
 * and the capability the request asks for.
 *
 * All work is bounded by `policy.fingerprint.maxContentBytes`: raw text is
 * sliced *before* normalising, so a 1 MB body costs about what a 16 KB one does.
 */
import { toHex } from "../hash.ts";
import { asciiToken, isRecord } from "./fields.ts";

export type Capability = {
  model: string | null;
  /** `thinking.type` is "enabled" (or "adaptive"): the request wants a reasoning trace. */
  thinking: boolean;
  thinkingBudget: number | null;
  toolCount: number;
  maxTokens: number | null;
  stream: boolean;
};

export type ContentFeatures = {
  hasSystem: boolean;
  /** SHA-256 (hex) of the raw system text, UTF-8, at most maxContentBytes of it; null without a system prompt. */
  systemSha256: string | null;
  /** The system text ran past maxContentBytes, so the hash covers a prefix. */
  systemTruncated: boolean;
  /** UTF-8 bytes of normalised text that went into the SimHash. */
  textBytes: number;
  /** Some of the system + first-user text was left out to stay within maxContentBytes. */
  truncated: boolean;
  shingles: number;
  messageCount: number;
};

/** The raw text pieces a body carries; raw strings, never logged or returned from the module. */
export type RawContent = {
  system: string | null;
  user: string;
  messageCount: number;
};

// Normalising shrinks text (whitespace runs, invisible characters, digit runs);
// reading up to 4× the budget lets padded text still fill it, yet stays bounded.
export const RAW_FACTOR = 4;
// Smallest raw slice per normalising round, so a nearly full budget does not
// turn into many tiny rounds.
const MIN_CHUNK = 1024;
// The first user turn is nearly always messages[0]; a cap keeps a body of
// 100k assistant messages from costing a scan.
const MAX_MESSAGES_SCANNED = 16;
const MAX_BLOCKS_SCANNED = 64;

/**
 * Format and invisible characters that render as nothing: zero-width
 * space/joiners (U+200B–U+200D), word joiner (U+2060), BOM (U+FEFF) and their
 * cousins (soft hyphen, bidi controls, variation selectors, Hangul fillers),
 * all of which can be sprinkled into a template to dodge exact matching.
 */
const INVISIBLE =
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/g;
// A digit *run* becomes one "0", so "item 7" and "item 1234" match as well.
// After NFKC, fullwidth and other compatibility digits are ASCII already.
const DIGIT_RUN = /[0-9]+/g;
// Only runs that are not already a single space: replacing every space with itself is 7× slower.
const WHITESPACE_RUN = /\s{2,}|[^\S ]/g;

const encoder = new TextEncoder();
let scratch = new Uint8Array(0);

function scratchOf(bytes: number): Uint8Array {
  if (scratch.length < bytes) scratch = new Uint8Array(bytes);
  return scratch.subarray(0, bytes);
}

/**
 * Everything `normalizeText` does to characters except collapsing whitespace:
 * NFKC, invisible characters removed, lower case, digit runs → "0". Wrapper
 * keys read line breaks, which the whitespace collapse would erase.
 */
export function normalizeChars(piece: string): string {
  return piece.normalize("NFKC").replace(INVISIBLE, "").toLowerCase().replace(DIGIT_RUN, "0");
}

function normalizePiece(piece: string): string {
  return normalizeChars(piece).replace(WHITESPACE_RUN, " ");
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `maxBytes`, never splitting a character. */
export function utf8Prefix(text: string, maxBytes: number): { text: string; bytes: number } {
  if (text.length * 3 <= maxBytes) return { text, bytes: encoder.encodeInto(text, scratchOf(text.length * 3)).written };
  const { read, written } = encoder.encodeInto(text, scratchOf(maxBytes));
  return { text: read === text.length ? text : text.slice(0, read), bytes: written };
}

/**
 * NFKC, invisible characters removed, lower case, digit runs → "0", whitespace
 * runs → one space, trimmed; at most `maxBytes` UTF-8 bytes of output from at
 * most RAW_FACTOR × maxBytes code units of input.
 *
 * The input is normalised in slices, and the seams are stitched (a digit run or
 * whitespace run cut in two still comes out as one "0" or one space), so adding
 * padding early in a text does not change what the budget covers later.
 */
export function normalizeText(raw: string, maxBytes: number): { text: string; bytes: number; truncated: boolean } {
  if (maxBytes <= 0 || raw.length === 0) return { text: "", bytes: 0, truncated: raw.length > 0 };
  const rawCap = Math.min(raw.length, maxBytes * RAW_FACTOR);
  let out = "";
  let pos = 0;
  // Each code unit is at least one UTF-8 byte, so out.length is a lower bound on its size.
  while (pos < rawCap && out.length < maxBytes) {
    let end = Math.min(rawCap, pos + Math.max(MIN_CHUNK, maxBytes - out.length));
    if (end < raw.length && isHighSurrogate(raw.charCodeAt(end - 1))) end++;
    let piece = normalizePiece(raw.slice(pos, end));
    pos = end;
    if (out.length === 0) {
      piece = piece.trimStart();
    } else {
      const last = out.charCodeAt(out.length - 1);
      const first = piece.charCodeAt(0);
      if ((last === 0x20 && first === 0x20) || (last === 0x30 && first === 0x30)) piece = piece.slice(1);
    }
    out += piece;
  }
  const fitted = utf8Prefix(out.trimEnd(), maxBytes);
  const truncated = pos < raw.length || fitted.text.length < out.trimEnd().length;
  return { text: fitted.text, bytes: fitted.bytes, truncated };
}

/** Text of a `content` value: a string, or the `text` of text blocks, joined by newlines. */
function textOf(content: unknown, maxChars: number): string {
  if (typeof content === "string") return content.length > maxChars ? content.slice(0, maxChars) : content;
  if (!Array.isArray(content)) return "";
  let text = "";
  const blocks = Math.min(content.length, MAX_BLOCKS_SCANNED);
  for (let i = 0; i < blocks && text.length < maxChars; i++) {
    const block: unknown = content[i];
    if (!isRecord(block) || block.type !== "text" || typeof block.text !== "string") continue;
    const room = maxChars - text.length;
    text += (text === "" ? "" : "\n") + (block.text.length > room ? block.text.slice(0, room) : block.text);
  }
  return text;
}

/**
 * The system prompt and the first user turn, each cut to `maxChars` code units.
 * Anything that is not a Messages API body yields empty text, never an error.
 */
export function rawContentOf(body: unknown, maxChars: number): RawContent {
  if (!isRecord(body)) return { system: null, user: "", messageCount: 0 };
  const systemValue = body.system;
  const system = systemValue === undefined || systemValue === null ? null : textOf(systemValue, maxChars);
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let user = "";
  const scanned = Math.min(messages.length, MAX_MESSAGES_SCANNED);
  for (let i = 0; i < scanned; i++) {
    const message: unknown = messages[i];
    if (isRecord(message) && message.role === "user") {
      user = textOf(message.content, maxChars);
      break;
    }
  }
  return { system: system === "" ? null : system, user, messageCount: messages.length };
}

/**
 * SHA-256 of the raw system text as UTF-8, capped at `maxBytes` bytes: an
 * operator allow-lists a tool's prompt with `printf %s "$PROMPT" | sha256sum`
 * (text blocks joined with "\n"; a prompt longer than maxContentBytes is hashed
 * over its first maxContentBytes bytes).
 */
export async function systemPromptSha256(system: string, maxBytes: number): Promise<{ hex: string; truncated: boolean }> {
  // A fresh buffer, not the shared scratch: the digest completes after an
  // await, by which time another request may have reused the scratch.
  const buffer = new Uint8Array(Math.min(maxBytes, system.length * 3));
  const { read, written } = encoder.encodeInto(system, buffer);
  const digest = await crypto.subtle.digest("SHA-256", buffer.subarray(0, written));
  return { hex: toHex(digest), truncated: read < system.length };
}

function readPositiveInt(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : null;
}

export function capabilityOf(body: unknown): Capability {
  if (!isRecord(body)) return { model: null, thinking: false, thinkingBudget: null, toolCount: 0, maxTokens: null, stream: false };
  const model = typeof body.model === "string" ? asciiToken(body.model.slice(0, 128).replace(/[^A-Za-z0-9._:@/-]/g, ""), 64) : null;
  const thinking = isRecord(body.thinking) ? body.thinking : null;
  const thinkingType = thinking !== null && typeof thinking.type === "string" ? thinking.type : null;
  return {
    model,
    thinking: thinkingType === "enabled" || thinkingType === "adaptive",
    thinkingBudget: thinking === null ? null : readPositiveInt(thinking.budget_tokens),
    toolCount: Array.isArray(body.tools) ? body.tools.length : 0,
    maxTokens: readPositiveInt(body.max_tokens),
    stream: body.stream === true,
  };
}
