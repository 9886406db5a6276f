/**
 * Elicitation score: how strongly a prompt asks for what a distiller harvests —
 * the model's reasoning written out, judgements as a grader / reward model, or
 * output shaped as training data.
 *
 * Runs on normalised text (lower case, digit runs → "0", single spaces), so the
 * patterns below are written for that form. Each rule carries a weight; the
 * score combines matched rules as a noisy-OR (1 − Π(1 − w)), so one benign
 * phrase ("think step by step") stays low while several agreeing ones rise.
 * Patterns are data, not logic: tune weights here, thresholds in the policy.
 */
import type { Policy } from "../policy.ts";

export type Elicitation = {
  /** 0..1, two decimals. */
  score: number;
  /** Matched rule codes, e.g. "cot:show_reasoning", sorted. */
  reasons: string[];
};

type Rule = {
  code: string;
  weight: number;
  /** Word starts the pattern cannot match without; the pattern is only tried near them. */
  anchors: readonly string[];
  pattern: RegExp;
};

const REASONING = "(?:reasoning|thought process|thinking|thoughts|work|steps|rationale|scratchpad|deliberations?|chain of thought)";

// Every quantified group below is either bounded or made of alternatives that
// cannot overlap, so matching stays linear.
export const ELICITATION_RULES: readonly Rule[] = [
  // --- chain of thought written out
  { code: "cot:chain_of_thought", weight: 0.35, anchors: ["chain", "cot"], pattern: /\bchain[- ]of[- ]thoughts?\b|\bcot\b/ },
  {
    code: "cot:show_reasoning",
    weight: 0.4,
    anchors: ["reasoning", "thought", "thinking", "work", "steps", "rationale", "scratchpad", "deliberation", "chain"],
    pattern: new RegExp(
      `\\b(?:show|write out|write down|spell out|lay out|output|print|include|reveal|expose|display|give|provide|explain|detail|document|list|walk me through|verbalize|narrate)(?: me)?(?: all| every| each| the| your| of your| full| complete| entire| detailed| internal| inner| hidden| raw| step[- ]by[- ]step)* ${REASONING}\\b`,
    ),
  },
  { code: "cot:step_by_step", weight: 0.2, anchors: ["step"], pattern: /\bstep[- ]by[- ]step\b/ },
  {
    code: "cot:internal_reasoning",
    weight: 0.35,
    anchors: ["reasoning", "monologue", "thought", "thinking", "chain", "deliberation"],
    pattern:
      /\b(?:internal|inner|hidden|private|raw|unfiltered|verbatim|full|complete|entire|uncensored) (?:reasoning|monologue|thoughts?|thinking|chain of thought|deliberation)\b/,
  },
  {
    code: "cot:reasoning_tags",
    weight: 0.3,
    anchors: ["thinking", "think", "reasoning", "thought", "scratchpad", "cot", "reflection", "inner"],
    pattern: /<\/?(?:thinking|think|reasoning|thoughts?|scratchpad|cot|reflection|inner_monologue)>/,
  },
  { code: "cot:every_step", weight: 0.15, anchors: ["step"], pattern: /\b(?:each|every|all)(?: intermediate| single| individual)? steps?\b/ },
  // --- grader / reward model
  {
    code: "grader:role",
    weight: 0.5,
    anchors: ["reward", "grader", "judge", "evaluator", "critic", "rater", "annotator"],
    pattern:
      /\breward model\b|\b(?:act|serve|behave|function|respond) as (?:a |an )?(?:grader|judge|evaluator|critic|reward|rater)\b|\byou are (?:a |an )?(?:expert |impartial |strict |fair |careful )*(?:grader|judge|evaluator|annotator|rater)\b/,
  },
  { code: "grader:rubric", weight: 0.3, anchors: ["rubric"], pattern: /\brubrics?\b/ },
  {
    code: "grader:score_responses",
    weight: 0.3,
    anchors: ["response", "answer", "completion", "output", "candidate", "generation"],
    pattern:
      /\b(?:score|rate|grade|rank|evaluate|compare)(?: the| this| each| both| these| following| two| all)* (?:responses?|answers?|completions?|outputs?|candidates?|generations?)\b/,
  },
  {
    code: "grader:preference",
    weight: 0.35,
    anchors: ["better", "preferred", "more helpful", "preference", "chosen", "rejected"],
    pattern:
      /\bwhich (?:response|answer|completion|output) is (?:better|preferred|more helpful)\b|\bpreference (?:pairs?|data|labels?)\b|\b(?:chosen|rejected) (?:response|answer|completion)\b/,
  },
  {
    code: "grader:scale",
    weight: 0.15,
    anchors: ["scale", "out of 0", "score"],
    pattern: /\b(?:on a scale (?:of|from) 0 ?(?:to|-) ?0|out of 0\b|score (?:of|from|between) 0 (?:to|and|-) 0)/,
  },
  // --- training data
  {
    code: "data:n_examples",
    weight: 0.35,
    anchors: ["example", "sample", "prompt", "question", "q&a", "qa pairs", "pairs", "conversation", "dialog", "instruction", "problem", "task", "record", "rows", "data point", "entries"],
    pattern:
      /\b(?:generate|create|produce|write|output|give me|make|synthesi[sz]e|list)(?: me)? (?:0|many|several|multiple|a few|a (?:large )?(?:number|set|batch|list) of)(?: more)?(?: diverse| varied| unique| different| high[- ]quality| new| synthetic| realistic)*(?: training| instruction)? (?:examples|samples|prompts|questions|question[- ]answer pairs|q&a pairs|qa pairs|pairs|conversations|dialogues|dialogs|instructions|problems|tasks|records|rows|data points|entries)\b/,
  },
  { code: "data:jsonl", weight: 0.3, anchors: ["json", "one json"], pattern: /\bjsonl\b|\bjson lines\b|\bone json object per line\b/ },
  {
    code: "data:fine_tuning",
    weight: 0.45,
    anchors: ["fine", "sft", "rlhf", "dpo", "grpo", "distill", "train"],
    pattern:
      /\bfine[- ]?tun(?:e|ed|ing)\b|\b(?:sft|rlhf|dpo|grpo)\b|\bdistill(?:ation|ing|ed)?\b|\btrain(?:ing)? (?:a |my |our |the |your )?(?:own )?(?:model|llm|language model|student)\b/,
  },
  {
    code: "data:dataset",
    weight: 0.35,
    anchors: ["dataset", "data set", "corpus", "data"],
    pattern: /\b(?:as a|for a|into a) (?:training )?(?:data ?set|corpus)\b|\b(?:synthetic|training) data(?:set)?\b/,
  },
  {
    code: "data:io_schema",
    weight: 0.3,
    anchors: ["completion", "response", "output", "answer", "chosen"],
    pattern: /"(?:prompt|instruction|input|question|query)" ?: ?"[^"]{0,200}" ?, ?"(?:completion|response|output|answer|chosen)" ?:/,
  },
];

/*
 * Speed: 16 patterns each scanning 16 KB cost ~0.15 ms, because an alternation
 * defeats the regex engine's literal search. Instead one pass finds where any
 * anchor word starts, and each rule is tried only on a window around its
 * anchors' hits. A window spans further than any pattern reaches from its anchor.
 */
const WINDOW_BEFORE = 240;
const WINDOW_AFTER = 320;
// Past this many hits of one anchor, its rules scan the whole text instead: a
// text stuffed with decoy anchors cannot push the real phrase out of view.
const MAX_HITS_PER_ANCHOR = 16;

const STEMS = [...new Set(ELICITATION_RULES.flatMap((rule) => rule.anchors))].sort((a, b) => b.length - a.length);
const escapeRegExp = (text: string): string => text.replace(/[.*+?^$()|[\]{}\\]/g, "\\$&");
const ANCHOR_SCAN = new RegExp(`\\b(?:${STEMS.map(escapeRegExp).join("|")})`, "g");
/** The longest stem matches first, so a hit also counts for every stem it starts with ("jsonl" → "json"). */
const STEMS_OF_HIT = new Map(STEMS.map((hit) => [hit, STEMS.filter((stem) => hit.startsWith(stem))]));

export function elicitationScore(normalisedText: string): Elicitation {
  if (normalisedText.length === 0) return { score: 0, reasons: [] };
  const hits = new Map<string, number[]>();
  ANCHOR_SCAN.lastIndex = 0;
  for (let match = ANCHOR_SCAN.exec(normalisedText); match !== null; match = ANCHOR_SCAN.exec(normalisedText)) {
    for (const stem of STEMS_OF_HIT.get(match[0]) ?? []) {
      const positions = hits.get(stem);
      if (positions === undefined) hits.set(stem, [match.index]);
      else if (positions.length <= MAX_HITS_PER_ANCHOR) positions.push(match.index);
    }
  }
  let miss = 1;
  const reasons: string[] = [];
  for (const rule of ELICITATION_RULES) {
    if (matchesNear(rule, normalisedText, hits)) {
      miss *= 1 - rule.weight;
      reasons.push(rule.code);
    }
  }
  return { score: Math.round((1 - miss) * 100) / 100, reasons: reasons.sort() };
}

function matchesNear(rule: Rule, text: string, hits: Map<string, number[]>): boolean {
  for (const anchor of rule.anchors) {
    const positions = hits.get(anchor);
    if (positions === undefined) continue;
    if (positions.length > MAX_HITS_PER_ANCHOR) return rule.pattern.test(text);
    for (const position of positions) {
      const start = Math.max(0, position - WINDOW_BEFORE);
      if (rule.pattern.test(text.slice(start, position + WINDOW_AFTER))) return true;
    }
  }
  return false;
}

/**
 * Whether a system prompt's SHA-256 (hex, as `content.systemSha256`) is one
 * the operator allow-listed: a shared prompt of a legitimate tool, whose users
 * must not be lumped into one template cluster.
 */
export function isAllowedSystemPrompt(hash: string | null, policy: Policy): boolean {
  return hash !== null && policy.fingerprint.allowedSystemPromptHashes.includes(hash.toLowerCase());
}
