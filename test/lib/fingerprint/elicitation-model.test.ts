import { describe, expect, it } from "vitest";
import agentic from "../../../data/elicitation/categories/agentic_trace.json";
import coding from "../../../data/elicitation/categories/coding_trace.json";
import grader from "../../../data/elicitation/categories/grader.json";
import preference from "../../../data/elicitation/categories/preference.json";
import preferenceGeneration from "../../../data/elicitation/categories/preference_generation.json";
import reasoning from "../../../data/elicitation/categories/reasoning_trace.json";
import synthetic from "../../../data/elicitation/categories/synthetic_data.json";
import content from "../../../data/elicitation/content.json";
import families from "../../../data/elicitation/families.json";
import negatives from "../../../data/elicitation/negatives.json";
import { normalizeText } from "../../../lib/fingerprint/content.ts";
import { type CorpusData, type Example, generateExamples } from "../../../lib/fingerprint/elicitation-corpus.ts";
import { BUCKETS, CATEGORIES, packWeights, unpackModel } from "../../../lib/fingerprint/elicitation-features.ts";
import { ELICITATION_MODEL } from "../../../lib/fingerprint/elicitation-model.ts";
import { elicitationScore } from "../../../lib/fingerprint/elicitation.ts";
import { CV_FOLDS, evaluate, foldsOf, TRAIN_OPTIONS, train } from "../../../lib/fingerprint/elicitation-train.ts";
import { DEFAULT_POLICY } from "../../../lib/policy/index.ts";

const CORPUS: CorpusData = { families, content, negatives, categories: [reasoning, grader, preference, preferenceGeneration, synthetic, agentic, coding] };
const threshold = DEFAULT_POLICY.fingerprint.elicitationThreshold;
// Floors a few points under what the shipped model reaches on this sample (at the 0.5 that counts a
// request towards its keys' eliciting share), so a retrain that loses ground fails here. Recall was
// traded for precision: the model is calibrated to stay quiet on ordinary and hard-ordinary prompts,
// and reasoning_trace (0.44) and synthetic_data (0.38) are furthest from a useful 0.9.
const HELDOUT_RECALL_FLOOR: Record<(typeof CATEGORIES)[number], number> = {
  reasoning_trace: 0.38,
  grader: 0.45,
  preference: 0.55,
  synthetic_data: 0.32,
  agentic_trace: 0.44,
  coding_trace: 0.43,
};
// Reached: 12 of 18 in English, 9 of 19 in other languages.
const UNSEEN_RECALL_FLOOR = 0.6;
const UNSEEN_OTHER_LANGUAGES_FLOOR = 0.4;
// French, Italian, Portuguese, Polish and Japanese phrasing families are all held out: trained on, they
// made the model louder on honest traffic (see data/elicitation/families.json). Reached: 1 of 12 unseen
// paraphrases; this floor only keeps the gap from widening, it is not a target.
const UNSEEN_NEW_LANGUAGES_FLOOR = 1 / 12;
const NEW_LANGUAGE_FAMILY = /^(?:fr|it|pt|pl|ja)-/;
// Preference pairs the model is asked to write itself: held out (trained on, they made the model louder
// on honest traffic), measured on their own. Reached on this sample: English 47 % (25 % without the
// pair-label rules); the Chinese, Spanish, Russian and German family about a sixth, which neither
// the model nor the English pair-label rule reaches.
const PAIR_WRITING_FAMILY = /^pairs-/;
const PAIRS_EN_RECALL_FLOOR = 0.4;
const score = (text: string) => elicitationScore(normalizeText(text, 16_384).text);
const judge = (text: string) => ({ score: elicitationScore(text).score, category: null });

// A seed the shipped model was not trained with: fresh content around wording it never saw. The floors
// are for the families of languages the model was trained in; the others are measured on their own.
const HELDOUT_ALL = generateExamples(CORPUS, { seed: 99, perPhrasing: 6, perTemplate: 6, splits: ["heldout"] });
const HELDOUT = HELDOUT_ALL.filter((example) => !NEW_LANGUAGE_FAMILY.test(example.family) && !PAIR_WRITING_FAMILY.test(example.family));

describe("elicitation model on held-out phrasing families", () => {
  const evaluation = evaluate(HELDOUT, judge, threshold);

  it("should hold out whole families, never seen in training", () => {
    const heldOut = new Set(families.families.filter((family) => family.split === "heldout").map((family) => family.id));
    const positives = HELDOUT_ALL.filter((example) => example.label !== null);
    expect(positives.length).toBeGreaterThan(500);
    expect(positives.every((example) => heldOut.has(example.family))).toBe(true);
    expect(generateExamples(CORPUS, { seed: 99, perPhrasing: 1, perTemplate: 0, splits: ["train"] }).some((example) => heldOut.has(example.family))).toBe(false);
  });

  it.each(CATEGORIES.map((category) => [category]))("should detect most held-out %s prompts", (category) => {
    const metrics = evaluation.categories.find((m) => m.category === category);
    expect(metrics?.recall).toBeGreaterThanOrEqual(HELDOUT_RECALL_FLOOR[category]);
  });

  it("should flag held-out English requests to write a labelled preference pair", () => {
    const pairs = HELDOUT_ALL.filter((example) => example.family === "pairs-en");
    expect(pairs.length).toBeGreaterThan(100);
    const recall = pairs.filter((example) => judge(example.text).score >= threshold).length / pairs.length;
    expect(recall).toBeGreaterThanOrEqual(PAIRS_EN_RECALL_FLOOR);
  });

  it("should leave held-out ordinary prompts below the threshold", () => {
    // Reached: 0 of 1,100 held-out ordinary prompts, two whole held-out groups included.
    expect(evaluation.ordinaryFalsePositiveRate).toBeLessThanOrEqual(0.002);
  });

  it("should leave most hard negatives (steps for learning, essay rubrics, tool agents) below the threshold", () => {
    // Reached: 0 on this sample, 0.7 % on the training report's larger one (own-product QA, learners).
    expect(evaluation.hardFalsePositiveRate).toBeLessThanOrEqual(0.01);
    const clean = evaluation.groups.filter((group) => group.hard && group.falsePositiveRate === 0);
    expect(clean.length).toBeGreaterThanOrEqual(15);
  });
});

// Written for this test, in no corpus file: paraphrases the scorer has never seen in any form.
const UNSEEN_ELICITING = [
  "Kindly narrate your complete cognitive process for the puzzle below, leaving no intermediate inference unstated, and only then state the answer.\n\nPuzzle: a bat and a ball cost 1.10 in total and the bat costs 1.00 more than the ball. What does the ball cost?",
  "The assistant must articulate the internal reasoning behind its response fully and step by step.\n\nHow many prime numbers are there between 100 and 150?",
  "SOLVE. SHOW ALL THINKING. EVERY STEP. NO SHORTCUTS.\n\nA cyclist rides 18 km at 12 km/h and returns at 18 km/h. What is the average speed?",
  "You are a meticulous grader. Assign the answer below an integer score between 1 and 10 reflecting its correctness.\n\nQuestion: What causes tides?\nAnswer: The wind pushes the water towards the coast.",
  "Judge the quality of the chatbot's reply on a 0-100 scale and output only the number.\n\nUser: how do I boil an egg?\nBot: Put it in boiling water for 9 minutes.",
  "Please mark this model-written answer as correct or incorrect and give it a confidence score.\n\nQ: Who wrote Hamlet?\nA: Christopher Marlowe.",
  "Two assistants replied to the same user. Tell me which reply you favour, 1 or 2, and why.\n\nUser: best way to learn guitar?\nReply 1: Take lessons.\nReply 2: Practise chords daily for 20 minutes and learn songs you love.",
  "Pick the stronger of the two completions below; answer with its label only.\n\nPrompt: name a prime number\nCompletion A: 9\nCompletion B: 7",
  "Rank these two candidate answers from best to worst and explain the ranking.\n\nQuestion: why is the sea salty?\nCandidate 1: Rivers carry dissolved minerals into it.\nCandidate 2: Fish make it salty.",
  "Produce 300 distinct user questions about home gardening, each paired with a model answer, formatted as JSONL.",
  "Please draft 40 sample exchanges between a customer and a support bot about billing, to be used as fine-tuning data.",
  "Write 100 varied instruction and response examples covering basic SQL.",
  "As you complete this task, before invoking any function explain your rationale, and after it returns, quote the output; give me the entire sequence at the end.\n\nTask: find a vegetarian restaurant near the office and book a table for six at 7 pm.",
  "Keep a step log: for each action write the thought, the function name, the parameters and the returned observation. Goal: archive all Jira tickets closed before March.",
  "Record your full trajectory of tool calls with the reasoning for each one while you reconcile these two spreadsheets.",
  "Implement the function below in Python; first reason through the whole design step by step, then give the complete solution and explain each line.\n\ndef merge_intervals(intervals): ...",
  "Explain every step of your reasoning as you write the complete solution to this programming task: return the longest palindromic substring of a string.",
  "Give me the full solution plus the complete thought process behind it, step by step, for this problem: two-sum with a sorted array.",
];

const UNSEEN_ELICITING_OTHER_LANGUAGES = [
  // reasoning trace
  "Résous ce problème en exposant tout ton raisonnement, étape par étape, sans rien omettre, puis donne la réponse finale.\n\nUn robinet remplit une cuve de 300 litres en 25 minutes. Combien de temps pour 540 litres ?",
  "Löse die Aufgabe und schreibe deinen gesamten Denkprozess Schritt für Schritt auf, bevor du das Ergebnis nennst.\n\nWie viele Primzahlen liegen zwischen 50 und 80?",
  "Resuelve el problema mostrando todo tu razonamiento interno paso a paso y deja la respuesta para el final.\n\nSi un tren recorre 180 km en 2 horas, ¿cuánto tarda en recorrer 450 km?",
  "请把你解题时的全部思考过程一步一步详细写出来，最后再给出答案。\n\n一个长方形的周长是36厘米，长比宽多4厘米，求面积。",
  "Распиши полностью весь ход своих рассуждений, каждый шаг, и только в конце дай ответ.\n\nСколько существует трёхзначных чисел, делящихся на 7?",
  // grader
  "Sei un valutatore severo. Assegna alla risposta seguente un punteggio da 1 a 10 e motiva il voto criterio per criterio.\n\nDomanda: Perché il cielo è blu?\nRisposta: Perché riflette il colore del mare.",
  "Bewerte die folgende Antwort eines KI-Assistenten auf einer Skala von 0 bis 100 und gib nur die Zahl aus.\n\nFrage: Was ist die Hauptstadt von Australien?\nAntwort: Sydney.",
  "Actúa como modelo de recompensa: puntúa la respuesta del asistente entre 0 y 1 y justifica la puntuación.\n\nPregunta: ¿Qué es la fotosíntesis?\nRespuesta: Es cuando las plantas duermen.",
  // preference
  "Escreva duas respostas para o pedido abaixo: uma excelente e outra propositalmente pior, e marque qual é a preferida.\n\nPedido: explique o que é inflação.",
  "下面同一个问题有两个回答，请判断哪个更好，只输出A或B，并说明理由。\n\n问题：如何学好英语？\n回答A：多看电影。\n回答B：每天坚持听说读写练习，并定期复习。",
  "Napisz dwie odpowiedzi na to polecenie, lepszą i gorszą, oznacz je jako CHOSEN i REJECTED do treningu preferencji.\n\nPolecenie: jak dbać o storczyka?",
  // synthetic data
  "Génère 60 paires question-réponse variées sur la cuisine végétarienne, au format JSONL, pour entraîner un modèle.",
  "Erzeuge 40 abwechslungsreiche Trainingsbeispiele mit Anweisung und idealer Antwort zum Thema Steuererklärung, eine JSON-Zeile pro Beispiel.",
  "Сгенерируй 50 разнообразных пар «вопрос — подробный ответ» про астрономию для обучающего датасета в формате JSONL.",
  "以下のテーマについて、モデルの学習用に質問と模範解答のペアを40組作ってください。JSONL形式でお願いします。テーマ：家庭菜園",
  // agentic trace
  "Agisci come agente autonomo: prima di ogni chiamata a uno strumento scrivi per intero il tuo ragionamento, poi l'azione e l'osservazione.\n\nCompito: trova il volo più economico da Roma a Lisbona per venerdì.",
  "Actúa como agente con herramientas. En cada paso escribe tu pensamiento completo, la herramienta, los argumentos y la observación, sin resumir nada.\n\nTarea: archiva los correos de facturas de 2023.",
  // coding trace
  "Implementiere die Funktion in Python und erkläre vorher ausführlich jeden Denkschritt deines Entwurfs, danach jede Zeile des Codes.\n\ndef längste_folge(zahlen): ...",
  "Escribe la solución completa en JavaScript y, antes del código, explica paso a paso todo tu razonamiento de diseño.\n\nProblema: devolver los k elementos más frecuentes de un arreglo.",
];

// French, Italian, Portuguese, Polish and Japanese: written for this test after the corpus gained phrasing
// families in those languages, worded apart from them (no corpus sentence translated or reordered).
const UNSEEN_ELICITING_NEW_LANGUAGES = [
  "Pour chaque énigme ci-dessous, montre-moi comment tu la résous en pensant tout haut, calcul après calcul, et annonce le résultat seulement à la fin.\n\nÉnigme : un escargot monte de 3 mètres le jour et redescend de 2 la nuit dans un puits de 10 mètres. En combien de jours sort-il ?",
  "Tu joues le rôle d'un modèle de récompense : attribue à la réponse suivante un score entre 0 et 1 et justifie-le critère par critère.\n\nQuestion : Qu'est-ce que la photosynthèse ?\nRéponse : C'est la respiration des animaux.",
  "Donne-moi le programme entier en JavaScript, mais commence par justifier chacun de tes choix de conception, un par un, dans l'ordre où tu les fais.\n\nProblème : fusionner deux tableaux triés.",
  "Produci 80 esempi di dialogo tra un cliente e un assistente virtuale di una banca, in formato JSONL, da usare per il fine-tuning.",
  "Hai davanti due risposte alla stessa domanda: segna quella migliore come CHOSEN e l'altra come REJECTED.\n\nDomanda: come si conserva il basilico?\nRisposta A: In frigo.\nRisposta B: In un bicchiere d'acqua a temperatura ambiente, cambiando l'acqua ogni giorno.",
  "Trabalhe como agente autônomo e registre em um log cada ação: o que pensou antes, qual função chamou, com quais argumentos e o que recebeu de volta.\n\nTarefa: encontre o voo mais barato de Lisboa para o Porto na sexta-feira.",
  "Quero a solução inteira em Python, mas primeiro narre cada decisão de design que você tomar e por que descartou as alternativas.\n\nProblema: remover duplicados de uma lista mantendo a ordem.",
  "Zanim napiszesz wynik, rozpisz szczegółowo, co po kolei myślisz i liczysz — nic nie skracaj.\n\nPociąg jedzie 240 km w 3 godziny. Ile przejedzie w 5 godzin?",
  "Jako sędzia sprawdź, czy ta odpowiedź czatbota jest trafna, i przyznaj jej od 0 do 100 punktów.\n\nPytanie: Ile nóg ma pająk?\nOdpowiedź: Sześć.",
  "この問題を解くときの頭の中の流れを、計算も含めて省略せずに文章にしてください。結論はその後で。\n\n問題：りんごが3個で240円のとき、7個ではいくらですか。",
  "どちらの返事のほうがユーザーの役に立つと思いますか？ 1か2で選んで、決めた理由も書いてください。\n\n質問：よく眠るコツは？\n返事1：寝る前にスマホを見ない。\n返事2：特にない。",
  "エージェントとして動いて、各アクションの前の思考、呼んだ関数名、渡した引数、返ってきた観測を全部ログに残して最後にまとめて出力して。\n\nタスク：来週の会議室を予約する。",
];

// Ordinary requests in the same languages, two of them asking for steps or a correction as learners do.
const UNSEEN_ORDINARY_NEW_LANGUAGES = [
  "Peux-tu me proposer un menu de la semaine pour deux personnes, sans viande ?",
  "Explique-moi la différence entre le passé composé et l'imparfait avec des exemples.",
  "Mi consigli tre libri per imparare a programmare in Python?",
  "Qual é a melhor época para visitar os Açores?",
  "Napisz krótkie życzenia imieninowe dla babci.",
  "Jak obliczyć pole trójkąta? Wytłumacz krok po kroku, mam jutro sprawdzian.",
  "この文章を丁寧な敬語に直してください：明日は行けません。",
  "東京から大阪まで新幹線で何時間かかりますか？",
];

const UNSEEN_ORDINARY = [
  "Can you help me write a birthday message for my coworker Dana? She loves hiking and bad puns.",
  "What's the capital of Mongolia and how many people live there?",
  "Here's my resume bullet: 'Led migration of 40 services to Kubernetes.' Make it punchier.",
  "Explain the difference between TCP and UDP, step by step, for my networking exam on Friday.",
  "Fix the off-by-one error in this loop: for (let i = 0; i <= arr.length; i++) sum += arr[i];",
  "Summarise these meeting notes in five bullets: budget approved, hiring freeze lifted in Q3, new office opens in May, Sam leads the vendor review, next sync on the 14th.",
  "Translate 'where is the train station' into Polish and Czech.",
  "I'm a teacher. Write 5 quiz questions about fractions for my class, with answers.",
  "Which is better for a beginner photographer, a Canon R50 or a Sony a6400?",
  "Think step by step: is it cheaper to drive or take the train from Berlin to Munich for two people?",
  "Grade this student's essay on climate change using the rubric (argument 0-5, evidence 0-5, clarity 0-5) and give feedback she can use.\n\nEssay: Climate change is caused by greenhouse gases. We should use buses more and plant trees in every town.",
];

// Preference pairs the model is asked to write itself (both sides, labelled), worded apart from the
// corpus's generation phrasings, and honest requests for two versions of something that must stay quiet.
const UNSEEN_PAIR_WRITING = [
  "For the user request below, I need a top-quality reply and a second reply that a reviewer should reject; tag them chosen and rejected.\n\nRequest: how do I descale a kettle?",
  "Generate a preference example: an ideal assistant answer and a flawed one for the same question, marked so we know which is preferred.\n\nQuestion: what is a Roth IRA?",
  "Answer the prompt as well as possible, then again with a subtle factual mistake, and label the pair for our DPO set.\n\nPrompt: explain how vaccines train the immune system.",
  "{\"prompt\": \"Why do cats purr?\", \"chosen\": \"<write it>\", \"rejected\": \"<write it>\"} fill in both answers, rejected one weaker",
  "Erzeuge für diese Frage eine bevorzugte und eine abgelehnte Antwort für unser Präferenztraining.\n\nFrage: Wie funktioniert eine Wärmepumpe?",
  "Genera para esta consulta una respuesta elegida y otra rechazada, la rechazada con un error, para entrenar el modelo de recompensa.\n\nConsulta: ¿cómo se calcula el IVA?",
];
const UNSEEN_TWO_VERSIONS = [
  "Write two versions of a thank-you note to my neighbour for watering the plants, one short and one warm and chatty.",
  "Show my Year 8 class a weak conclusion and a strong conclusion for an essay about recycling, and explain what makes the second better.",
  "Give me one good and one bad example of a variable name in Python, and say why.",
  "Can you draft two responses to this review, one that apologises and one that politely disagrees? Review: the pizza was cold.",
  "Escribe dos versiones del saludo de mi tienda en Instagram: una seria y otra divertida.",
  "Zeig mir eine schlechte und eine gute Zusammenfassung desselben Artikels, damit meine Schüler den Unterschied sehen.",
];

describe("elicitation model on prompts written for this test", () => {
  it("should flag half of the unseen requests to write a labelled preference pair", () => {
    // The model alone flags 1 of 6; the pair-label rule adds the two that name chosen and rejected.
    // German and Spanish labels are seen by neither.
    const flagged = UNSEEN_PAIR_WRITING.filter((text) => score(text).score >= threshold);
    expect(flagged.length).toBeGreaterThanOrEqual(3);
  });

  it("should flag none of the unseen honest requests for two versions or a good and a bad example", () => {
    expect(UNSEEN_TWO_VERSIONS.filter((text) => score(text).score >= threshold)).toEqual([]);
  });

  it("should flag nearly all unseen eliciting paraphrases", () => {
    const flagged = UNSEEN_ELICITING.filter((text) => score(text).score >= threshold);
    expect(flagged.length / UNSEEN_ELICITING.length).toBeGreaterThanOrEqual(UNSEEN_RECALL_FLOOR);
  });

  it("should flag nearly all unseen eliciting paraphrases in other languages", () => {
    const flagged = UNSEEN_ELICITING_OTHER_LANGUAGES.filter((text) => score(text).score >= threshold);
    expect(flagged.length / UNSEEN_ELICITING_OTHER_LANGUAGES.length).toBeGreaterThanOrEqual(UNSEEN_OTHER_LANGUAGES_FLOOR);
  });

  it("should flag most unseen eliciting paraphrases in French, Italian, Portuguese, Polish and Japanese", () => {
    const flagged = UNSEEN_ELICITING_NEW_LANGUAGES.filter((text) => score(text).score >= threshold);
    expect(flagged.length / UNSEEN_ELICITING_NEW_LANGUAGES.length).toBeGreaterThanOrEqual(UNSEEN_NEW_LANGUAGES_FLOOR);
  });

  it("should flag none of the unseen ordinary prompts in those languages", () => {
    expect(UNSEEN_ORDINARY_NEW_LANGUAGES.filter((text) => score(text).score >= threshold)).toEqual([]);
  });

  it("should flag almost none of the unseen ordinary prompts", () => {
    const flagged = UNSEEN_ORDINARY.filter((text) => score(text).score >= threshold);
    expect(flagged.length).toBeLessThanOrEqual(1);
  });

  it("should name the model's category as a reason", () => {
    expect(score(UNSEEN_ELICITING[3] ?? "").reasons).toContain("model:grader");
  });
});

describe("elicitation trainer", () => {
  const small: Example[] = generateExamples(
    { ...CORPUS, categories: [reasoning, grader], negatives: { groups: negatives.groups.slice(0, 3) } },
    { seed: 5, perPhrasing: 2, perTemplate: 2, splits: ["train"], augment: true },
  );
  const options = { ...TRAIN_OPTIONS, epochs: 2, refitEpochs: 1, keepPerCategory: 200 };

  it("should produce the same packed model from the same examples and options", () => {
    expect(train(small, options)).toEqual(train(small, options));
  });

  it("should produce a different model from a different seed", () => {
    expect(train(small, { ...options, seed: options.seed + 1 }).weights).not.toBe(train(small, options).weights);
  });

  it("should keep at most keepPerCategory weights per category", () => {
    const model = unpackModel(train(small, options));
    for (let c = 0; c < CATEGORIES.length; c++) {
      let kept = 0;
      for (let b = 0; b < BUCKETS; b++) if (model.weights[b * CATEGORIES.length + c] !== 0) kept++;
      expect(kept).toBeLessThanOrEqual(200);
    }
  });

  it("should round-trip int8 weights through the packed form", () => {
    const weights = new Int8Array(BUCKETS * CATEGORIES.length);
    weights[0] = -127;
    weights[7] = 5;
    weights[BUCKETS * CATEGORIES.length - 1] = 127;
    const packed = { buckets: BUCKETS, categories: [...CATEGORIES], scales: CATEGORIES.map(() => 1), biases: CATEGORIES.map(() => 0), weights: packWeights(weights, CATEGORIES.length) };
    expect(unpackModel(packed).weights).toEqual(weights);
  });

  it("should deal whole phrasing families and ordinary groups into folds, each fold with eliciting, ordinary and hard prompts", () => {
    const examples = generateExamples(CORPUS, { seed: 5, perPhrasing: 1, perTemplate: 1, splits: ["train"] });
    const folds = foldsOf(examples);
    expect(examples.every((example) => folds.has(example.family))).toBe(true);
    for (let fold = 0; fold < CV_FOLDS; fold++) {
      const own = examples.filter((example) => folds.get(example.family) === fold);
      expect(own.some((example) => example.label !== null)).toBe(true);
      expect(own.some((example) => example.label === null && !example.hard)).toBe(true);
      expect(own.some((example) => example.label === null && example.hard)).toBe(true);
    }
    // The trained languages are spread too, so no fold's model loses every one of them at once.
    const foldsOfLanguages = new Set(["zh-a", "es-a", "ru-a", "de-a"].map((family) => folds.get(family)));
    expect(foldsOfLanguages.size).toBeGreaterThan(1);
  });

  it("should ship a model over the categories and buckets the features use", () => {
    const model = unpackModel(ELICITATION_MODEL);
    expect(model.categories).toEqual(CATEGORIES);
    expect(model.weights.length).toBe(BUCKETS * CATEGORIES.length);
  });
});
