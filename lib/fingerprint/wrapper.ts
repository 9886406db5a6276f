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
 * share short openings ("can you help me write a cover letter for a …"): a
 * fixed-K anchor makes those a shared key, while the first whole sentence
 * carries the asker's own subject. Measured on generated campaigns and honest
 * prompts in test/lib/fingerprint/wrapper.test.ts (see docs, fingerprints).
 *
 * Cost: only the first and last WINDOW code units are normalised, so a 16 KB
 * prompt costs what a 2 KB one does.
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

// 8 words: the shortest instruction found in both positions at every content share, while no key
// was shared by more than 1 % of honest prompts. 24: a one-sentence wrapper longer than that is
// still one key, cut within its own words. Measured, see the file header.
export const WRAPPER_DEFAULTS: WrapperOptions = { minWords: 8, maxWords: 24, minRest: 1 };

// Code units read at each end: 24 words of ordinary text fit in well under 1 KB; a longer head of
// segments shorter than minWords is not a wrapper this module can tell apart anyway.
const WINDOW = 1024;

type Words = {
  words: string[];
  /** breaks[i]: a segment ends after words[i] (a line break follows, or it ends a sentence or a label). */
  breaks: boolean[];
};

const WORD = /(\S+)(\s*)/g;
const SEGMENT_END = /[.!?:;]$/;
const LINE_BREAK = /[\n\r\v\f\u0085\u2028\u2029]/;

function wordsOf(text: string): Words {
  const words: string[] = [];
  const breaks: boolean[] = [];
  for (const match of text.matchAll(WORD)) {
    const word = match[1] ?? "";
    words.push(word);
    breaks.push(SEGMENT_END.test(word) || LINE_BREAK.test(match[2] ?? ""));
  }
  return { words, breaks };
}

/** Words in the anchor at the start, or 0 when the text has no anchor there. */
function headLength({ words, breaks }: Words, whole: boolean, options: WrapperOptions): number {
  for (let i = 0; i < words.length; i++) {
    const n = i + 1;
    if (n >= options.maxWords || (n >= options.minWords && breaks[i] === true)) {
      return whole && words.length - n < options.minRest ? 0 : n;
    }
  }
  return 0;
}

/**
 * Words in the anchor at the end, or 0 when the text has no anchor there.
 * `startsSegment`: words[0] begins a segment (the text's own start, or a
 * break right before a window's first word).
 */
function tailLength({ words, breaks }: Words, whole: boolean, startsSegment: boolean, options: WrapperOptions): number {
  for (let i = words.length - 1; i >= 0; i--) {
    const n = words.length - i;
    if (n >= options.maxWords || (n >= options.minWords && (i === 0 ? startsSegment : breaks[i - 1] === true))) {
      return whole && words.length - n < options.minRest ? 0 : n;
    }
  }
  return 0;
}

/**
 * At most two keys for a user turn: `wrap:p:<hex16>` for its leading anchor
 * and `wrap:s:<hex16>` for its trailing one. A short text or one without
 * segments long enough yields fewer, often none.
 */
export function wrapperKeys(user: string, options: WrapperOptions = WRAPPER_DEFAULTS): string[] {
  if (user.length === 0) return [];
  const keys: string[] = [];
  if (user.length <= WINDOW) {
    const all = wordsOf(normalizeChars(user));
    const head = headLength(all, true, options);
    if (head > 0) keys.push(`wrap:p:${hash64Hex(all.words.slice(0, head).join(" "))}`);
    const tail = tailLength(all, true, true, options);
    if (tail > 0) keys.push(`wrap:s:${hash64Hex(all.words.slice(-tail).join(" "))}`);
    return keys;
  }
  // A window may cut a word in two: the cut word is left out, and an anchor must end before it.
  const start = wordsOf(normalizeChars(user.slice(0, WINDOW)));
  if (!/\s/.test(user.charAt(WINDOW))) {
    start.words.pop();
    start.breaks.pop();
  }
  const head = headLength(start, false, options);
  if (head > 0) keys.push(`wrap:p:${hash64Hex(start.words.slice(0, head).join(" "))}`);
  const end = wordsOf(normalizeChars(user.slice(-WINDOW)));
  let startsSegment = false;
  if (!/\s/.test(user.charAt(user.length - WINDOW - 1))) {
    end.words.shift();
    startsSegment = end.breaks.shift() === true;
  }
  const tail = tailLength(end, false, startsSegment, options);
  if (tail > 0) keys.push(`wrap:s:${hash64Hex(end.words.slice(-tail).join(" "))}`);
  return keys;
}
