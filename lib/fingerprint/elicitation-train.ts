/**
 * Fits the elicitation model: one-vs-rest logistic regression per category
 * over the hashed features of elicitation-features.ts, by AdaGrad SGD in a
 * seeded order, then pruned to the strongest weights per category, refitted on
 * those, and quantised to int8. Deterministic: the same examples and options
 * give the same packed model, byte for byte.
 *
 * Also the evaluation both the training script and the tests report:
 * per-category precision and recall at a threshold, false positives per
 * ordinary-prompt group.
 */
import { type CorpusData, type Example, generateExamples, seededRandom } from "./elicitation-corpus.ts";
import { BUCKETS, CATEGORIES, type Category, featureBuckets, type Model, type PackedModel, packWeights, unpackModel } from "./elicitation-features.ts";
import { categoryProbabilities, combinedScore, ruleScore } from "./elicitation.ts";

export type TrainOptions = {
  seed: number;
  epochs: number;
  /** Epochs of refitting after pruning. */
  refitEpochs: number;
  learningRate: number;
  l2: number;
  /** Loss weight of a category's own prompts in its one-vs-rest output (they are outnumbered ~10 to 1). */
  positiveWeight: number;
  /** Loss weight of an ordinary prompt marked hard (an elicitation look-alike). */
  hardNegativeWeight: number;
  /** Non-zero weights kept per category: what bounds the shipped size. */
  keepPerCategory: number;
};

export const TRAIN_OPTIONS: TrainOptions = {
  seed: 17,
  epochs: 8,
  refitEpochs: 4,
  learningRate: 0.2,
  l2: 3e-3,
  positiveWeight: 4,
  hardNegativeWeight: 4,
  keepPerCategory: 600,
};

const K = CATEGORIES.length;

/** Each example's distinct buckets, sorted. */
export function distinctBuckets(text: string, seen: Uint32Array, stamp: number): Int32Array {
  const [buckets, count] = featureBuckets(text);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const b = buckets[i] ?? 0;
    if (seen[b] === stamp) continue;
    seen[b] = stamp;
    out.push(b);
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

type Fitted = { weights: Float64Array; biases: Float64Array };

function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] ?? 0;
    order[i] = order[j] ?? 0;
    order[j] = t;
  }
  return order;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function fit(features: readonly Int32Array[], labels: readonly (Category | null)[], lossWeights: readonly number[], options: TrainOptions, epochs: number, start: Fitted, mask: Uint8Array | null): Fitted {
  const weights = Float64Array.from(start.weights);
  const biases = Float64Array.from(start.biases);
  const squares = new Float64Array(weights.length);
  const biasSquares = new Float64Array(K);
  const random = seededRandom(options.seed);
  const z = new Float64Array(K);
  const g = new Float64Array(K);
  // The average of the later epochs' weights: steadier than the last epoch's, which
  // lean towards whatever examples came last in its order.
  const averaged = new Float64Array(weights.length);
  const averagedBiases = new Float64Array(K);
  let averagedEpochs = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const index of shuffled(features.length, random)) {
      const f = features[index] ?? new Int32Array(0);
      const label = labels[index] ?? null;
      const weight = lossWeights[index] ?? 1;
      for (let c = 0; c < K; c++) z[c] = biases[c] ?? 0;
      for (let i = 0; i < f.length; i++) {
        const base = (f[i] ?? 0) * K;
        for (let c = 0; c < K; c++) z[c] = (z[c] ?? 0) + (weights[base + c] ?? 0);
      }
      for (let c = 0; c < K; c++) {
        const y = label === CATEGORIES[c] ? 1 : 0;
        const gc = (sigmoid(z[c] ?? 0) - y) * (y === 1 ? options.positiveWeight : weight);
        g[c] = gc;
        biasSquares[c] = (biasSquares[c] ?? 0) + gc * gc;
        biases[c] = (biases[c] ?? 0) - (options.learningRate * gc) / Math.sqrt((biasSquares[c] ?? 0) + 1e-8);
      }
      for (let i = 0; i < f.length; i++) {
        const base = (f[i] ?? 0) * K;
        for (let c = 0; c < K; c++) {
          const slot = base + c;
          if (mask !== null && mask[slot] === 0) continue;
          const w = weights[slot] ?? 0;
          const grad = (g[c] ?? 0) + options.l2 * w;
          squares[slot] = (squares[slot] ?? 0) + grad * grad;
          weights[slot] = w - (options.learningRate * grad) / Math.sqrt((squares[slot] ?? 0) + 1e-8);
        }
      }
    }
    if (epoch >= Math.floor(epochs / 2)) {
      averagedEpochs++;
      for (let i = 0; i < weights.length; i++) averaged[i] = (averaged[i] ?? 0) + (weights[i] ?? 0);
      for (let c = 0; c < K; c++) averagedBiases[c] = (averagedBiases[c] ?? 0) + (biases[c] ?? 0);
    }
  }
  if (averagedEpochs === 0) return { weights, biases };
  return { weights: averaged.map((w) => w / averagedEpochs), biases: averagedBiases.map((b) => b / averagedEpochs) };
}

/** The keepPerCategory largest |w| of each category; ties broken by bucket, so the choice is deterministic. */
function strongest(weights: Float64Array, keep: number): Uint8Array {
  const mask = new Uint8Array(weights.length);
  for (let c = 0; c < K; c++) {
    const slots: number[] = [];
    for (let b = 0; b < BUCKETS; b++) if ((weights[b * K + c] ?? 0) !== 0) slots.push(b);
    slots.sort((a, b) => Math.abs(weights[b * K + c] ?? 0) - Math.abs(weights[a * K + c] ?? 0) || a - b);
    for (const b of slots.slice(0, keep)) mask[b * K + c] = 1;
  }
  return mask;
}

/** Six significant digits: enough for a scale or bias, and a generated module that reads cleanly. */
function rounded(value: number): number {
  return Number(value.toPrecision(6));
}

export function train(examples: readonly Example[], options: TrainOptions = TRAIN_OPTIONS): PackedModel {
  const seen = new Uint32Array(BUCKETS);
  const features = examples.map((example, i) => distinctBuckets(example.text, seen, i + 1));
  const labels = examples.map((example) => example.label);
  const lossWeights = examples.map((example) => (example.hard ? options.hardNegativeWeight : 1));
  const zero: Fitted = { weights: new Float64Array(BUCKETS * K), biases: new Float64Array(K) };
  const full = fit(features, labels, lossWeights, options, options.epochs, zero, null);
  const mask = strongest(full.weights, options.keepPerCategory);
  const pruned = Float64Array.from(full.weights, (w, slot) => (mask[slot] === 1 ? w : 0));
  const refit = fit(features, labels, lossWeights, options, options.refitEpochs, { weights: pruned, biases: full.biases }, mask);

  const scales: number[] = [];
  const quantised = new Int8Array(BUCKETS * K);
  for (let c = 0; c < K; c++) {
    let max = 0;
    for (let b = 0; b < BUCKETS; b++) max = Math.max(max, Math.abs(refit.weights[b * K + c] ?? 0));
    const scale = rounded(max > 0 ? max / 127 : 1);
    scales.push(scale);
    for (let b = 0; b < BUCKETS; b++) {
      const slot = b * K + c;
      if (mask[slot] === 1) quantised[slot] = Math.max(-127, Math.min(127, Math.round((refit.weights[slot] ?? 0) / scale)));
    }
  }
  return {
    buckets: BUCKETS,
    categories: [...CATEGORIES],
    scales,
    biases: Array.from(refit.biases, rounded),
    weights: packWeights(quantised, K),
  };
}

// ─────────────────────────────── evaluation ───────────────────────────────

/** What a scorer says of one text: the score and, when it is flagged, the category it names. */
export type Judgement = { score: number; category: Category | null };

export type CategoryMetrics = { category: Category; examples: number; recall: number; precision: number; categoryAccuracy: number };
export type GroupMetrics = { group: string; hard: boolean; examples: number; falsePositiveRate: number };
export type FamilyMetrics = { category: Category; family: string; examples: number; recall: number };
export type Evaluation = {
  categories: CategoryMetrics[];
  families: FamilyMetrics[];
  groups: GroupMetrics[];
  ordinaryFalsePositiveRate: number;
  hardFalsePositiveRate: number;
};

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 1000) / 1000;
}

/**
 * recall: share of a category's prompts scored at or above the threshold;
 * precision: share of prompts flagged *as that category* that are that
 * category; categoryAccuracy: share of detected prompts named correctly.
 */
export function evaluate(examples: readonly Example[], judge: (text: string) => Judgement, threshold: number): Evaluation {
  const judged = examples.map((example) => ({ example, judgement: judge(example.text) }));
  const flagged = (j: Judgement) => j.score >= threshold;
  const categories = CATEGORIES.map((category): CategoryMetrics => {
    const own = judged.filter(({ example }) => example.label === category);
    const detected = own.filter(({ judgement }) => flagged(judgement));
    const named = judged.filter(({ judgement }) => flagged(judgement) && judgement.category === category);
    return {
      category,
      examples: own.length,
      recall: ratio(detected.length, own.length),
      precision: ratio(named.filter(({ example }) => example.label === category).length, named.length),
      categoryAccuracy: ratio(detected.filter(({ judgement }) => judgement.category === category).length, detected.length),
    };
  });
  const families: FamilyMetrics[] = [];
  for (const category of CATEGORIES) {
    const own = judged.filter(({ example }) => example.label === category);
    for (const family of [...new Set(own.map(({ example }) => example.family))]) {
      const members = own.filter(({ example }) => example.family === family);
      families.push({ category, family, examples: members.length, recall: ratio(members.filter(({ judgement }) => flagged(judgement)).length, members.length) });
    }
  }
  const groupIds = [...new Set(judged.filter(({ example }) => example.label === null).map(({ example }) => example.family))];
  const groups = groupIds.map((group): GroupMetrics => {
    const own = judged.filter(({ example }) => example.label === null && example.family === group);
    return { group, hard: own[0]?.example.hard ?? false, examples: own.length, falsePositiveRate: ratio(own.filter(({ judgement }) => flagged(judgement)).length, own.length) };
  });
  const negatives = (hard: boolean) => judged.filter(({ example }) => example.label === null && example.hard === hard);
  const rate = (list: typeof judged) => ratio(list.filter(({ judgement }) => flagged(judgement)).length, list.length);
  return { categories, families, groups, ordinaryFalsePositiveRate: rate(negatives(false)), hardFalsePositiveRate: rate(negatives(true)) };
}


// ─────────────────────────────── calibration ───────────────────────────────

/** Scores are rounded to two decimals, so a raw 0.495 already reports as 0.5. */
const REPORTED_HALF = Math.log(0.495 / 0.505);
// A little under the cut, so the calibrated boundary does not rest on one validation prompt.
const MARGIN = 0.1;

/** A text's strongest category as a logit: what the 0.5 cut is compared with. */
function maxLogit(model: Model, text: string): number {
  const probabilities = categoryProbabilities(model, text);
  const p = Math.min(1 - 1e-12, Math.max(1e-12, Math.max(...probabilities)));
  return Math.log(p / (1 - p));
}

/**
 * The shift, added to every category's bias, after which at most `targetRate`
 * of the negatives whose strongest logits are `logits` score at or above 0.5,
 * counting the `ruleFlagged` ones the phrase rules flag on their own. Never
 * positive: calibration only ever makes the model quieter. Rounded to three
 * decimals so the shipped module stays reproducible.
 */
export function shiftForLogits(logits: readonly number[], ruleFlagged: number, targetRate: number): number {
  const sorted = [...logits].sort((a, b) => b - a);
  const allowed = Math.max(0, Math.floor(targetRate * sorted.length) - ruleFlagged);
  const boundary = sorted[allowed];
  if (boundary === undefined) return 0;
  return Math.min(0, Math.round((REPORTED_HALF - MARGIN - boundary) * 1000) / 1000);
}

/** The shift after which at most `targetRate` of `negatives` (ordinary prompts the model was not fitted on) reach 0.5. */
export function calibrationShift(model: Model, negatives: readonly string[], targetRate: number): number {
  const ruleFlagged = negatives.filter((text) => ruleScore(text).score >= 0.5).length;
  return shiftForLogits(negatives.map((text) => maxLogit(model, text)), ruleFlagged, targetRate);
}

/** The packed model with `shift` added to every bias. */
export function withBiasShift(packed: PackedModel, shift: number): PackedModel {
  return { ...packed, biases: packed.biases.map((bias) => rounded(bias + shift)) };
}

// ─────────────────────────────── the shipped model ───────────────────────────────

/** Prompts per phrasing / ordinary template; the held-out report uses the same generator. */
export const CORPUS_OPTIONS = { seed: 2026, perPhrasing: 24, perTemplate: 24 } as const;

// Per validation prompt the calibration model never saw: the operating point the shipped model's 0.5
// stands for. Ordinary prompts and hard ones (built to look like elicitation: tutors, own-product QA,
// step-by-step homework) have targets of their own; the stricter shift of the two wins. Held-out
// negatives and the simulator's honest customers are measured against it, never used to set it.
export const TARGET_FALSE_POSITIVE_RATE = 0.002;
export const TARGET_HARD_FALSE_POSITIVE_RATE = 0.02;

// Settings and the calibration are chosen on VALIDATION: train families and ordinary templates set
// aside from TRAIN, so the held-out families stay out of every choice.
const VALIDATION_FAMILIES = new Set(["casual", "embedded", "bullets"]);

export function isValidation(example: Example): boolean {
  return example.label === null ? example.template % 3 === 1 : VALIDATION_FAMILIES.has(example.family);
}

// The per-account signal accumulates, so it gets a stricter operating point than a key's eliciting
// share (a share of 0.3 of a key's requests is far above any false-positive rate here).
export const SIGNAL_TARGET_FALSE_POSITIVE_RATE = 0.001;
export const SIGNAL_TARGET_HARD_FALSE_POSITIVE_RATE = 0.005;

export type Calibration = {
  shift: number;
  ordinaryShift: number;
  hardShift: number;
  /** Lowest score (a multiple of 0.05) at which, after the shift, both signal targets hold. */
  signalThreshold: number;
  ordinaryPrompts: number;
  hardPrompts: number;
};

/** The lowest mark in steps of 0.05 from 0.5 at which both prompt sets stay within the per-account signal's targets. */
function signalThresholdFor(ordinaryScores: readonly number[], hardScores: readonly number[]): number {
  const rate = (list: readonly number[], bar: number) => list.filter((score) => score >= bar).length / Math.max(1, list.length);
  let signalThreshold = 0.5;
  while (
    signalThreshold < 0.95 &&
    (rate(ordinaryScores, signalThreshold) > SIGNAL_TARGET_FALSE_POSITIVE_RATE || rate(hardScores, signalThreshold) > SIGNAL_TARGET_HARD_FALSE_POSITIVE_RATE)
  ) {
    signalThreshold = Math.round((signalThreshold + 0.05) * 100) / 100;
  }
  return signalThreshold;
}

/** The bias shift that meets both targets on the validation ordinary prompts of `data`. */
export function calibrate(model: Model, data: CorpusData): Calibration {
  const validation = generateExamples(data, { ...CORPUS_OPTIONS, splits: ["train"] }).filter((e) => e.label === null && isValidation(e));
  const texts = (hard: boolean) => validation.filter((e) => e.hard === hard).map((e) => e.text);
  const ordinary = texts(false);
  const hard = texts(true);
  const ordinaryShift = calibrationShift(model, ordinary, TARGET_FALSE_POSITIVE_RATE);
  const hardShift = calibrationShift(model, hard, TARGET_HARD_FALSE_POSITIVE_RATE);
  const shift = Math.min(ordinaryShift, hardShift);
  const shifted = unpackShifted(model, shift);
  const scores = (texts: readonly string[]) => texts.map((text) => combinedScore(shifted, text).score);
  const ordinaryScores = scores(ordinary);
  const hardScores = scores(hard);
  const signalThreshold = signalThresholdFor(ordinaryScores, hardScores);
  return { shift, ordinaryShift, hardShift, signalThreshold, ordinaryPrompts: ordinary.length, hardPrompts: hard.length };
}

function unpackShifted(model: Model, shift: number): Model {
  return { ...model, biases: model.biases.map((bias) => bias + shift) };
}

/**
 * The model as shipped: fitted on every TRAIN prompt, its biases shifted by
 * the calibration of a second model fitted without the validation prompts (a
 * model's own training prompts say nothing about how often it fires on
 * ordinary wording it has not seen). Deterministic, like train().
 */
export function trainShipped(data: CorpusData, options: TrainOptions = TRAIN_OPTIONS): { packed: PackedModel; calibration: Calibration; examples: number } {
  const fitOn = generateExamples(data, { ...CORPUS_OPTIONS, splits: ["train"], augment: true });
  const fitted = train(fitOn, options);
  const calibration = calibrate(unpackModel(train(fitOn.filter((e) => !isValidation(e)), options)), data);
  return { packed: withBiasShift(fitted, calibration.shift), calibration, examples: fitOn.length };
}

// ─────────────────────────────── cross-validation ───────────────────────────────

/*
 * A report beside the shipped calibration (`npm run train:elicitation -- --cv`),
 * not yet what sets it: the TRAIN phrasing families and ordinary groups are
 * dealt into CV_FOLDS folds, and each fold is scored by a model fitted on the
 * others, so every TRAIN prompt is judged once by a model that never saw its
 * family's or group's wording. VALIDATION holds out templates of groups the
 * calibration model saw; here whole groups are unseen, which is what an
 * honest customer's new wording is, and on the shipped corpus it asks for a
 * far larger bias shift (-5.5 against -2.0; shipped with it, held-out recall
 * would fall from 34 % to 14 %): the model's quiet on hard negatives holds
 * for the groups it was fitted on, not for look-alikes it never saw. The
 * held-out families stay out of it.
 */
export const CV_FOLDS = 4;

/**
 * Fold of every phrasing family and ordinary group: sorted ids dealt round
 * robin, positives and negatives apart, so each fold holds a share of each
 * and of the languages (ids are not shuffled by hash: four folds of a few
 * dozen ids come out lopsided).
 */
export function foldsOf(examples: readonly Example[]): Map<string, number> {
  const folds = new Map<string, number>();
  for (const positive of [true, false]) {
    const ids = [...new Set(examples.filter((e) => (e.label !== null) === positive && e.family !== MATCHED_CONTENT).map((e) => e.family))].sort();
    ids.forEach((id, index) => folds.set(id, index % CV_FOLDS));
  }
  return folds;
}

// Augmentation's content-alone negatives carry no wording of any family: every fold trains on them.
const MATCHED_CONTENT = "matched-content";

/** What cross-validation says of a setting: the calibration, and out-of-fold recall per category at 0.5 after it. */
export type CrossValidation = { calibration: Calibration; recall: Record<Category, number>; meanRecall: number; folds: number };

type Scored = { example: Example; fold: number; logit: number; rules: number };

/**
 * Fits one model per fold on the other folds' prompts (augmented, as the
 * shipped model is) and scores the fold's own TRAIN prompts with it: the bias
 * shift meets both targets on every fold's out-of-fold ordinary and hard
 * prompts, and recall is counted on the pooled eliciting ones.
 */
export function crossValidate(data: CorpusData, options: TrainOptions = TRAIN_OPTIONS): CrossValidation {
  const fitOn = generateExamples(data, { ...CORPUS_OPTIONS, splits: ["train"], augment: true });
  const judged = generateExamples(data, { ...CORPUS_OPTIONS, splits: ["train"] });
  const folds = foldsOf(judged);
  const foldOf = (e: Example) => folds.get(e.family) ?? -1;
  const models: Model[] = [];
  const scored: Scored[] = [];
  for (let fold = 0; fold < CV_FOLDS; fold++) {
    const model = unpackModel(train(fitOn.filter((e) => foldOf(e) !== fold), options));
    models.push(model);
    for (const example of judged.filter((e) => foldOf(e) === fold)) {
      scored.push({ example, fold, logit: maxLogit(model, example.text), rules: ruleScore(example.text).score });
    }
  }
  const negatives = (hard: boolean) => scored.filter((s) => s.example.label === null && s.example.hard === hard);
  const shiftOf = (list: readonly Scored[], target: number) =>
    shiftForLogits(
      list.map((s) => s.logit),
      list.filter((s) => s.rules >= 0.5).length,
      target,
    );
  const ordinary = negatives(false);
  const hard = negatives(true);
  // Every fold's model must meet the targets on its own held-out groups, not only the pool: pooled, a
  // group the model fires on (essay rubrics) is averaged away by the quiet ones, and the shipped model,
  // fitted on every fold, is louder on unseen wording than any fold's model.
  const strictest = (list: readonly Scored[], target: number) =>
    Math.min(...Array.from({ length: CV_FOLDS }, (_, fold) => shiftOf(list.filter((s) => s.fold === fold), target)));
  const ordinaryShift = strictest(ordinary, TARGET_FALSE_POSITIVE_RATE);
  const hardShift = strictest(hard, TARGET_HARD_FALSE_POSITIVE_RATE);
  const shift = Math.min(ordinaryShift, hardShift);
  const shifted = models.map((model) => unpackShifted(model, shift));
  const combined = (s: Scored) => {
    const model = shifted[s.fold];
    return model === undefined ? 0 : combinedScore(model, s.example.text).score;
  };
  const ordinaryScores = ordinary.map(combined);
  const hardScores = hard.map(combined);
  const signalThreshold = signalThresholdFor(ordinaryScores, hardScores);
  const recall = {} as Record<Category, number>;
  for (const category of CATEGORIES) {
    const own = scored.filter((s) => s.example.label === category);
    recall[category] = ratio(own.filter((s) => combined(s) >= 0.5).length, own.length);
  }
  const meanRecall = ratio(
    CATEGORIES.reduce((sum, category) => sum + recall[category], 0),
    CATEGORIES.length,
  );
  return { calibration: { shift, ordinaryShift, hardShift, signalThreshold, ordinaryPrompts: ordinary.length, hardPrompts: hard.length }, recall, meanRecall, folds: CV_FOLDS };
}
