/**
 * Wrapper keys: the fixed instruction a campaign wraps around varied content,
 * found by where it sits (the start or the end of the first user turn), not by
 * a hash of the whole text.
 *
 * Why anchors: a SimHash of the whole prompt moves with the varied part, so
 * once the content is most of the text the bands scatter. A template glues its
 * instruction to the content with a separator (a line break, a colon, a full
 * stop), so the leading and the trailing segments of the text are the wrapper
 * whatever the content is.
 *
 * The anchor is the shortest run of whole segments (lines, sentences) from that
 * end holding at least `minWords` words, cut at `maxWords` when no boundary
 * comes sooner. Whole segments, not a fixed K words, because honest prompts
 * share openings ("can you help me write a cover letter for a …"): over 500
 * generated honest prompts, first/last-8-word anchors put 20 % of them on a key
 * another prompt shared (6 words: 49 %); whole segments of ≥ 8 words, 2 %, no
 * key on more than 0.6 %. Campaigns wrapped at either or both ends kept 100 %
 * of their requests on one key from 20 % to 90 % content. bench/wrapper.ts
 * prints the table; test/lib/fingerprint/wrapper.test.ts holds the bounds.
 *
 * Cost: at most the first and last 1 KB are normalised, and scanned only as
 * far as the anchor, so a 16 KB prompt costs what a 2 KB one does (~0.01 ms).
 */
import { hash64Hex } from "../fasthash.ts";
import { normalizeChars } from "./content.ts";

export type WrapperOptions = {
  /** Fewest words an anchor holds: below it, openings and sign-offs that many people type alike. */
  minWords: number;
  /** Most words an anchor holds when no segment boundary comes sooner. */
  maxWords: number;
  /** Fewest words the text must hold beyond the anchor: an anchor that is the whole text is a duplicate, not a wrapper. */
  minRest: number;
};

// 8 words: 6 found no more campaigns and put honest prompts on shared keys half as often again
// (3 % against 2 %); 10 found no fewer here, but misses an 8- or 9-word instruction. 24: a
// one-sentence wrapper longer than that is still one key, cut within its own words (16 and 32
// measured the same). minRest 8 lost campaigns at 20-30 % content and gained no honest prompt.
export const WRAPPER_DEFAULTS: WrapperOptions = { minWords: 8, maxWords: 24, minRest: 1 };

// Code units normalised at each end: most anchors sit within the first, 24 words of ordinary text
// within the second; a longer run of segments shorter than minWords is not a wrapper this module
// can tell apart anyway.
const WINDOWS = [256, 1024];

/** Whitespace as it can be left after NFKC (which folds no-break and typographic spaces into U+0020). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0x1680 || c === 0x2028 || c === 0x2029;
}

function isLineBreak(c: number): boolean {
  return (c >= 0x0a && c <= 0x0d) || c === 0x85 || c === 0x2028 || c === 0x2029;
}

/** A word ending in one of . ! ? : ; ends a sentence or a label, so a segment. */
function endsSegment(c: number): boolean {
  return c === 0x2e || c === 0x21 || c === 0x3f || c === 0x3a || c === 0x3b;
}

/** At least `limit` words in text[from, to)? */
function hasWords(text: string, from: number, to: number, limit: number): boolean {
  let words = 0;
  let inWord = false;
  for (let i = from; i < to && words < limit; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words >= limit;
}

/** The anchor's text; NONE when the text has none at this end; MORE when the window ended first. */
const NONE = 0;
const MORE = 1;
type Anchor = string | typeof NONE | typeof MORE;

/** `text` is normalised; `whole`: it is the entire user turn, not a window onto its start. */
function headAnchor(text: string, whole: boolean, options: WrapperOptions): Anchor {
  const n = text.length;
  let i = 0;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  let words = 0;
  while (i < n) {
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    const wordEnd = i;
    // A word running into the window's end may be cut.
    if (wordEnd === n && !whole) return MORE;
    words++;
    let ends = endsSegment(text.charCodeAt(wordEnd - 1));
    while (i < n && isSpace(text.charCodeAt(i))) {
      if (isLineBreak(text.charCodeAt(i))) ends = true;
      i++;
    }
    if (words >= options.maxWords || (words >= options.minWords && ends)) {
      if (whole && !hasWords(text, i, n, options.minRest)) return NONE;
      return text.slice(0, wordEnd);
    }
  }
  return whole ? NONE : MORE;
}

/** As headAnchor, from the end: the anchor starts where a segment does. */
function tailAnchor(text: string, whole: boolean, options: WrapperOptions): Anchor {
  let i = text.length;
  while (i > 0 && isSpace(text.charCodeAt(i - 1))) i--;
  const end = i;
  let words = 0;
  while (i > 0) {
    while (i > 0 && !isSpace(text.charCodeAt(i - 1))) i--;
    const wordStart = i;
    if (wordStart === 0 && !whole) return MORE;
    words++;
    let starts = wordStart === 0;
    while (i > 0 && isSpace(text.charCodeAt(i - 1))) {
      if (isLineBreak(text.charCodeAt(i - 1))) starts = true;
      i--;
    }
    if (i > 0 && endsSegment(text.charCodeAt(i - 1))) starts = true;
    if (words >= options.maxWords || (words >= options.minWords && starts)) {
      if (whole && !hasWords(text, 0, i, options.minRest)) return NONE;
      return text.slice(wordStart, end);
    }
  }
  return whole ? NONE : MORE;
}

function keyOf(position: "p" | "s", anchor: string): string {
  // Words joined by one space whatever separated them, as normalizeText would leave them.
  return `wrap:${position}:${hash64Hex(anchor.replace(/\s+/g, " "))}`;
}

/**
 * The anchor at one end, reading a small window first and a larger one only
 * when the first ends before the anchor does.
 */
function anchorAt(user: string, end: "head" | "tail", options: WrapperOptions): string | null {
  for (const size of WINDOWS) {
    const whole = user.length <= size;
    const raw = whole ? user : end === "head" ? user.slice(0, size) : user.slice(-size);
    const text = normalizeChars(raw);
    const anchor = end === "head" ? headAnchor(text, whole, options) : tailAnchor(text, whole, options);
    if (typeof anchor === "string") return anchor;
    if (anchor === NONE || whole) return null;
  }
  return null;
}

/**
 * At most two keys for a user turn: `wrap:p:<hex16>` for its leading anchor
 * and `wrap:s:<hex16>` for its trailing one. A short text or one without
 * segments long enough yields fewer, often none.
 */
export function wrapperKeys(user: string, options: WrapperOptions = WRAPPER_DEFAULTS): string[] {
  if (user.length === 0) return [];
  const keys: string[] = [];
  const head = anchorAt(user, "head", options);
  if (head !== null) keys.push(keyOf("p", head));
  const tail = anchorAt(user, "tail", options);
  if (tail !== null) keys.push(keyOf("s", tail));
  return keys;
}
