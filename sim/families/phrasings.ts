/**
 * How campaigns (and honest customers) word what they ask for, per
 * elicitation category, in two disjoint sets: `tune` wording may inform
 * detection rules, weights and training corpora; `heldout` wording never may.
 * A detector is judged on held-out families, whose campaigns speak only in
 * held-out wording, so a scorer that learned the tuning phrases by heart
 * shows it there.
 *
 * Written for the simulator on its own, as different people would put it
 * (terse operators, careful researchers, non-native writers, other
 * languages), without reference to the gateway's phrase rules or training
 * data. Keep it that way: a held-out phrase copied into a detector's corpus
 * stops being held out.
 */

export const CATEGORIES = ["reasoning", "grader", "preference", "synthetic", "agentic"] as const;
export type Category = (typeof CATEGORIES)[number];
export type Split = "tune" | "heldout";

type Pools = Record<Split, readonly string[]>;

/** Reasoning-trace harvest: the answer matters less than the written-out thinking that leads to it. */
const REASONING: Pools = {
  tune: [
    "Think step by step and show every step of your reasoning before the final answer.",
    "Before answering, write out your full chain of thought inside <thinking></thinking> tags, then give the answer.",
    "Explain your reasoning in detail, one numbered step at a time, and only then state the result.",
    "Walk through the problem slowly. Show all intermediate calculations and justify each one.",
    "Please reason it out loud: list what you know, what you need, and each deduction, then answer.",
    "Give a long, careful derivation. Do not skip steps, even obvious ones. Final answer on the last line.",
    "Show your work like a teacher grading an exam would want to see it: every step, every reason.",
    "first think through it fully (write the thinking out!!), then answer. no shortcuts",
    "Reason step-by-step. Format: Reasoning: ... Answer: ...",
    "Lay out your complete thought process, including approaches you considered and rejected.",
    "Write your internal monologue as you solve this, then box the final answer.",
    "I need the reasoning more than the answer: write down every step you take to get there.",
    "Réfléchis étape par étape et détaille tout ton raisonnement avant de donner la réponse finale.",
    "Denke Schritt für Schritt nach und schreibe jeden Zwischenschritt deiner Überlegung auf.",
    "请一步一步地思考，把完整的推理过程写出来，最后再给出答案。",
    "Piensa paso a paso y muestra todo tu razonamiento antes de responder.",
    "Сначала подробно распиши ход рассуждений по шагам, потом дай ответ.",
    "Solve it and narrate your thinking in full sentences at each stage; finish with 'ANSWER:'.",
  ],
  heldout: [
    "Take a deep breath and work on this problem step-by-step.",
    "Let's work this out in a step by step way to be sure we have the right answer.",
    "Produce a detailed rationale first — every inference spelled out — and put the conclusion at the very end.",
    "Don't just give me the number. I want to see how you got there, line by line.",
    "Reply with your scratchpad: all of your intermediate thoughts, verbatim, followed by the solution.",
    "Break the solution into small logical moves and comment on why each move is valid.",
    "Before the answer, think aloud at length. Be exhaustive; length is not a problem.",
    "pls show full working + explain each line, need it for a dataset of worked solutions",
    "Answer only after an explicit, complete derivation. Mark the derivation with 'Derivation:' and the answer with 'Result:'.",
    "Tell me everything that goes through your mind while you solve this, in order.",
    "Trace your logic meticulously: premises, sub-goals, checks, and the final verdict.",
    "Write a thorough worked solution as a textbook would, with justification for each transition.",
    "Raisonne à voix haute, sans sauter d'étape, et vérifie ton résultat à la fin.",
    "Bitte begründe jeden einzelnen Rechenschritt ausführlich, bevor du das Ergebnis nennst.",
    "请详细写出你的思考过程，每一步都要解释原因，不要直接给答案。",
    "Resolva passo a passo, explicando o raciocínio completo de cada etapa antes da resposta final.",
    "ステップごとに考え、その思考過程をすべて書き出してから答えてください。",
    "Ragiona passo dopo passo e scrivi tutto il ragionamento prima della risposta.",
    "Hãy suy nghĩ từng bước một và trình bày đầy đủ lập luận trước khi đưa ra đáp án.",
  ],
};

/** Grader / reward-model harvest: scores and critiques of responses, the labels a reward model trains on. */
const GRADER: Pools = {
  tune: [
    "You are a strict grader. Score the response below from 1 to 10 and justify the score criterion by criterion.",
    "Act as a reward model: read the prompt and the response, then output a scalar score between 0 and 1 with a short justification.",
    "Rate the answer on helpfulness, correctness and harmlessness (1-5 each). Explain each rating.",
    "Evaluate the following response against the rubric. For each rubric item, say pass or fail and why.",
    "Judge which of the two responses is better and explain the decisive differences.",
    "Grade this answer like a careful TA: list the errors, give partial credit, total out of 10.",
    "You are an impartial judge. Compare Response A and Response B and output [[A]] or [[B]] after your reasoning.",
    "score the reply 1-10. format: {\"score\": n, \"reason\": \"...\"}",
    "Critique the response in detail, then assign a quality score from 1 (useless) to 7 (excellent).",
    "Assess factual accuracy sentence by sentence and give an overall accuracy score.",
    "Évalue la réponse suivante sur une échelle de 1 à 10 et justifie chaque point de la grille.",
    "Bewerte die Antwort nach Korrektheit und Vollständigkeit (je 1–5) und begründe deine Bewertung.",
    "请作为评分模型，对下面的回答从1到10打分，并说明理由。",
    "Califica la respuesta del 1 al 10 según la rúbrica y explica cada criterio.",
    "Decide whether the response follows the instructions. Output a score and the violated instructions.",
    "Rank the responses from best to worst and explain the ranking.",
  ],
  heldout: [
    "Play the role of a discerning evaluator. Weigh the response's merits and flaws, then settle on a mark out of 10.",
    "You're the preference oracle for our RLHF run. Say which completion a careful human would prefer, with reasons.",
    "Assign a reward between -1 and 1 to the assistant turn. Reward honesty and precision; penalise padding.",
    "Using the checklist that follows, tick each item the answer satisfies and compute the final percentage.",
    "Read both candidates. Write a verdict paragraph and end with 'Winner: A', 'Winner: B' or 'Tie'.",
    "How good is this answer, really? Be critical. Give it a grade (A–F) and defend the grade.",
    "As an expert reviewer, mark every mistake in the answer and give a calibrated quality score 0–100.",
    "Please provide pointwise feedback on the reply and a final integer rating in double brackets, e.g. [[6]].",
    "Determine if the response is correct, partially correct or incorrect, and explain the deciding factor.",
    "You judge model outputs for a living. Score coherence, depth and accuracy separately, then overall.",
    "Note à la réponse : de 0 à 20, avec une justification critère par critère, comme un correcteur de copie.",
    "Beurteile als neutraler Gutachter, welche der beiden Antworten überzeugender ist, und begründe das Urteil.",
    "请比较两个回答的质量，逐条说明优缺点，最后给出更好的那个。",
    "Avalie a resposta de 1 a 5 em clareza, correção e utilidade, justificando cada nota.",
    "以下の回答を1〜10で採点し、採点基準ごとに理由を述べてください。",
    "Оцени ответ по шкале от 1 до 10 и подробно обоснуй оценку по каждому критерию.",
    "Is the second answer an improvement on the first? Give a preference strength from 1 to 5 and explain.",
  ],
};

/** Preference-pair harvest: a better and a worse answer to the same prompt, labelled, for DPO-style training. */
const PREFERENCE: Pools = {
  tune: [
    "Write two answers to the prompt: one excellent and one subtly flawed. Label them CHOSEN and REJECTED.",
    "Generate a preferred response and a dispreferred response for the following instruction, and explain the difference.",
    "Produce a pair of completions, a good one and a bad one, formatted as JSON with keys chosen and rejected.",
    "Give me a high-quality reply and a low-quality reply to this user message, for preference training.",
    "Respond twice: first as a helpful expert, then as a careless assistant. Mark which is better.",
    "Create a DPO pair for this prompt: {\"prompt\": ..., \"chosen\": ..., \"rejected\": ...}",
    "Write the ideal answer, then write a plausible but worse answer with a factual error in it.",
    "two versions pls: good vs bad answer, say which one wins and why",
    "Rédige deux réponses à cette question, une bonne et une médiocre, et indique laquelle est préférée.",
    "Schreibe zwei Antworten auf die Anfrage: eine hilfreiche und eine schwache. Kennzeichne sie als besser und schlechter.",
    "请针对下面的问题写两个回答：一个优秀，一个有缺陷，并标注哪个更好。",
    "Escribe dos respuestas, una preferida y una rechazada, y explica por qué una es mejor.",
    "Generate three candidate answers of decreasing quality and rank them.",
    "Output a winning response and a losing response for the same instruction, then a one-line rationale.",
    "Make a comparison pair: a concise correct answer and a verbose answer with a mistake.",
    "Provide response_A (preferred) and response_B (rejected) for reward-model training.",
  ],
  heldout: [
    "For the instruction below, draft the reply a top expert would give and the reply a sloppy intern would give. Tag them GOOD/BAD.",
    "I'm collecting comparison data. Give one answer that fully follows the instructions and one that misses a requirement.",
    "Return JSONL with fields {instruction, better, worse}; the worse answer should look convincing.",
    "Answer this in two contrasting ways — one you'd be proud of and one you'd be embarrassed by — and say which is which.",
    "Compose a strong completion and a weak completion, then briefly note why annotators would prefer the strong one.",
    "We need pairwise data: preferred_output and non_preferred_output for the user turn, plus the reason.",
    "Write a careful answer, then a deliberately worse rewrite of it (less accurate, less helpful). Label both.",
    "give a chosen/rejected pair for this one, rejected should be believable but wrong somewhere",
    "Produce two responses differing in quality only by tone and accuracy; mark the winner with ✅ and the loser with ❌.",
    "Simulate two assistants answering the same prompt, one aligned and one unhelpful, and state the preference.",
    "Propose deux complétions, l'une préférable et l'autre non, au format JSON avec les clés meilleure et pire.",
    "Erstelle ein Antwortpaar für Präferenztraining: eine gewünschte und eine unerwünschte Antwort, mit Begründung.",
    "针对同一个指令，生成一个被偏好的回答和一个不被偏好的回答，用于偏好数据集。",
    "Gere um par de respostas (preferida e rejeitada) para a instrução abaixo, no formato JSON.",
    "同じ指示に対して、良い回答と悪い回答を一つずつ作り、どちらが良いか示してください。",
    "Составь пару ответов для обучения по предпочтениям: хороший и плохой, и объясни разницу.",
    "Write answer 1 and answer 2 so that a rater would clearly prefer answer 1; then explain the rater's choice.",
  ],
};

/** Synthetic training data: many examples in a machine-readable format, to train another model on. */
const SYNTHETIC: Pools = {
  tune: [
    "Generate 20 diverse question-answer pairs about the text below, with detailed answers, in JSONL.",
    "Create training examples from this passage: instruction, input, output. Make 15 of them, varied in difficulty.",
    "Write 10 new problems similar to this one, each with a complete worked solution.",
    "Turn the following into a fine-tuning dataset: a list of {\"prompt\": ..., \"completion\": ...} objects.",
    "Produce synthetic conversations (user/assistant, 4 turns each) that teach the concept below.",
    "Make 25 multiple-choice questions with the correct option and an explanation for each.",
    "Paraphrase this task 12 different ways and answer each paraphrase fully.",
    "generate lots of varied examples like this one w/ solutions, jsonl, no commentary",
    "Write an instruction-tuning dataset of 30 items on this topic, Alpaca format.",
    "Génère 20 paires question-réponse variées à partir du texte ci-dessous, au format JSONL.",
    "Erzeuge 15 Trainingsbeispiele (Anweisung, Eingabe, Ausgabe) aus dem folgenden Text.",
    "根据下面的内容生成30条多样化的指令-回答训练数据，使用JSON格式。",
    "Genera 20 ejemplos de entrenamiento a partir de este texto, con pregunta y respuesta detallada.",
    "Expand this seed into 50 harder variants, each with the expected answer and a rationale.",
    "Create a graded curriculum of exercises from this material, with model answers.",
    "Output a CSV of input,output rows (at least 20) that a model could learn this skill from.",
  ],
  heldout: [
    "Using the material below as a seed, author a batch of fresh exercises plus reference solutions. Aim for breadth.",
    "I'm building a corpus. Invent 40 user requests in this domain and write the ideal assistant reply to each.",
    "Emit ShareGPT-style records (a list of {from, value} turns) that cover the skill shown here. At least a dozen.",
    "Rewrite this example into many new ones with different surface details but the same underlying skill; include answers.",
    "Draft a synthetic Q&A set, question then long-form answer, that a smaller model could be fine-tuned on.",
    "Please mass-produce similar tasks (30+) with gold answers. Output one JSON object per line, nothing else.",
    "From the passage, derive comprehension questions, tricky distractors and the key with explanations.",
    "make me a dataset: 1 seed -> 25 variations, each w/ step by step solution, json lines",
    "Create self-instruct style data: new instructions inspired by this one, and high-quality outputs for each.",
    "Write a set of dialogue samples in which a tutor teaches the idea below; each sample ends with a quiz.",
    "À partir de cet extrait, fabrique un jeu de données d'entraînement : 30 consignes et leurs réponses modèles.",
    "Schreibe auf Basis dieses Textes einen Datensatz mit 25 Frage-Antwort-Paaren im JSON-Lines-Format.",
    "请以此为种子，批量生成类似的题目及标准答案，每行一个JSON对象。",
    "Crie um conjunto de dados sintético com 20 instruções e respostas ideais baseadas no texto abaixo.",
    "以下の文章から、学習用の質問と模範解答のペアを30個作成し、JSONLで出力してください。",
    "Сгенерируй набор обучающих примеров (инструкция и эталонный ответ), не меньше двадцати, в формате JSONL.",
    "Bulk-generate labelled examples for this task type; keep each example self-contained with its solution.",
  ],
};

/** Agentic tool-use and coding-trace harvest: narrated plans, tool calls and code with the thinking behind them. */
const AGENTIC: Pools = {
  tune: [
    "You are an autonomous agent. Before every tool call, explain in <thinking> tags what you know, what you need and why this call.",
    "Solve the ticket using the tools. After each tool result, write down your updated plan in full.",
    "Plan the task as a numbered list of tool calls, execute them, and narrate your reasoning between calls.",
    "Write the code, and before each function explain the design decision behind it in detail.",
    "Act as a senior engineer pair-programming out loud: describe each edit and why you make it, then show the diff.",
    "Use the available tools step by step. Log your thoughts, the action, and the observation for each step (ReAct format).",
    "Think through the whole repository change first, write the plan, then implement it file by file with commentary.",
    "agent mode: thought / action / observation loop, keep going until done, print every thought",
    "Debug this: state each hypothesis, the command you'd run to test it, the result, and what you conclude.",
    "Implement the feature with tests. Explain your reasoning for every test case and edge case you cover.",
    "Tu es un agent autonome : avant chaque appel d'outil, explique ton raisonnement et ton plan.",
    "Du bist ein Agent mit Werkzeugen. Beschreibe vor jedem Werkzeugaufruf ausführlich deine Überlegungen.",
    "你是一个自主智能体。每次调用工具前，先详细写出你的思考和计划。",
    "Eres un agente autónomo: antes de cada llamada a una herramienta, explica tu razonamiento completo.",
    "Produce a full trajectory: goal, sub-goals, each tool invocation with arguments, results, and reflections.",
    "Write the solution as a sequence of shell commands and code edits, commenting your reasoning at each step.",
  ],
  heldout: [
    "Work the ticket end to end with the tools you have. Between actions, jot down what you just learned and what you'll try next.",
    "Operate as a coding agent. For each step emit: Thought, Tool, Args, Observation, Reflection. Don't compress anything.",
    "Before touching any file, reason about the codebase aloud; then make the change and explain every hunk of the patch.",
    "Keep a running log of your reasoning as you call tools — I'm interested in the decision process, not just the outcome.",
    "Pretend you're recording a screencast: say what you're thinking before each command and each code edit.",
    "Use function calls to finish the job. Precede every call with a paragraph justifying it and alternatives you rejected.",
    "Fix the failing build. Document your investigation: suspicions, evidence from each tool call, and the final root cause.",
    "do the task w/ tools, and write out ur whole thought process between each step pls, long is fine",
    "Draft an execution plan, then carry it out via the tools, revisiting the plan in writing whenever an observation surprises you.",
    "Write the implementation incrementally; after each increment explain the reasoning and what the next increment will be.",
    "Agis comme un agent de développement : note ta réflexion avant chaque action et après chaque résultat d'outil.",
    "Arbeite das Ticket mit den Werkzeugen ab und protokolliere vor jedem Schritt deinen Gedankengang.",
    "作为编程智能体完成任务：每一步都写出思考、要调用的工具、参数、观察结果和反思。",
    "Como agente, resolva a tarefa com as ferramentas e escreva o raciocínio completo entre cada chamada.",
    "ツールを使ってタスクを完了してください。各ツール呼び出しの前に、考えていることをすべて書き出してください。",
    "Действуй как автономный агент: перед каждым вызовом инструмента подробно описывай свои рассуждения.",
    "Narrate your debugging session in full — every hypothesis, every probe, every dead end — then give the patch.",
  ],
};

export const PHRASINGS: Readonly<Record<Category, Pools>> = {
  reasoning: REASONING,
  grader: GRADER,
  preference: PREFERENCE,
  synthetic: SYNTHETIC,
  agentic: AGENTIC,
};

/** How honest users ask for steps: people learning, checking homework, following a derivation. */
export const HONEST_STEP_PHRASINGS: Pools = {
  tune: [
    "Can you go step by step?",
    "Could you explain how you got there?",
    "Please walk me through it, I want to understand, not just copy.",
    "show the steps so I can check my homework",
    "Explain each step, I'm studying for an exam.",
    "Pourrais-tu détailler les étapes ?",
    "I keep getting a different result, can you show the working?",
    "Go slowly please, I'm new to this.",
  ],
  heldout: [
    "Mind showing your working? My answer disagrees with the book.",
    "Break it down for me like I'm five.",
    "Can you show how each line follows? I want to learn the method.",
    "step-by-step please, my kid asked me and I forgot how",
    "Kannst du das Schritt für Schritt erklären?",
    "Walk me through the logic so I can redo it on my own.",
    "Explain it one piece at a time, I'll follow along on paper.",
    "¿Me lo explicas paso a paso?",
  ],
};

/** A legitimate evaluation customer's rubric prompts: grading their own product's outputs. */
export const HONEST_RUBRIC_PHRASINGS: Pools = {
  tune: [
    "Grade our support bot's reply against the rubric: accuracy, tone, policy compliance. Output pass/fail per item and a one-line note.",
    "Score this product answer 1–5 for correctness and 1–5 for brand tone; we use it to track regressions between releases.",
    "Check this generated summary against the source: list unsupported claims and give a faithfulness score.",
  ],
  heldout: [
    "QA check for release 4.2: compare the candidate reply with the reference reply and say whether it is acceptable to ship, with reasons.",
    "Evaluate the chatbot transcript against our style guide; flag each violation and give an overall score out of 10.",
    "Does this auto-generated product description match the spec sheet? Rate accuracy 1–5 and list mismatches.",
  ],
};

/** Teaching platforms: a tutor persona that asks the model to explain. */
export const TUTOR_SYSTEM_PROMPTS: Pools = {
  tune: [
    "You are Owlbright, a patient maths and science tutor for secondary-school students. Explain concepts step by step, check understanding with a short question at the end, and never just hand over the final answer to a homework problem without explanation. Keep language simple and encouraging.",
  ],
  heldout: [
    "You are the study assistant of Lernwerk, an online learning platform for adults returning to education. Explain each topic in clear stages, relate it to everyday life, give a worked example, and end with two practice questions. Be warm and avoid jargon unless you define it.",
  ],
};

/** Coding tools whose system prompt many honest users share and that no operator has allow-listed. */
export const CODING_TOOL_PROMPTS: Pools = {
  tune: [
    [
      "You are Brisk, a coding assistant embedded in the Brisk IDE.",
      "Answer questions about the user's code, propose edits as unified diffs, and keep explanations short.",
      "Respect the project's lint rules and formatting. Do not introduce new dependencies without asking.",
      "When tests exist, suggest how to run them. Never print secrets or credentials.",
      "Reply in the user's language; wrap code in Markdown fences.",
    ].join("\n"),
  ],
  heldout: [
    [
      "System: you are Tessellate Code Companion, running as an editor extension.",
      "The user's open files and selection are supplied below their message.",
      "Prefer minimal, safe changes. Explain briefly what you changed and why.",
      "If the request touches production configuration, warn the user first.",
      "Format code in fenced blocks with the language tag; do not repeat unchanged code.",
      "You may call tools: open_file, grep, edit_file, run_command. Ask before running destructive commands.",
    ].join("\n"),
  ],
};

/** System prompts campaigns put in front of everything: generic personas, nothing that gives the game away. */
export const CAMPAIGN_SYSTEM_PROMPTS: Pools = {
  tune: [
    "You are a helpful, knowledgeable assistant. Answer accurately and completely.",
    "You are an expert problem solver with deep knowledge of mathematics, science and programming.",
    "You are DataForge, an assistant that produces high-quality, well-structured answers.",
  ],
  heldout: [
    "You are a world-class assistant. Be precise, thorough and well organised in every reply.",
    "You are Helios, a senior research assistant. Provide rigorous, complete and carefully checked answers.",
    "You are a capable AI assistant serving a question-answering service. Be exhaustive and correct.",
  ],
};

/** Every phrase of one split, across categories and honest pools: what the split may not share with the other. */
export function allPhrasings(split: Split): string[] {
  const pools: Pools[] = [
    ...Object.values(PHRASINGS),
    HONEST_STEP_PHRASINGS,
    HONEST_RUBRIC_PHRASINGS,
    TUTOR_SYSTEM_PROMPTS,
    CODING_TOOL_PROMPTS,
    CAMPAIGN_SYSTEM_PROMPTS,
  ];
  return pools.flatMap((p) => [...p[split]]);
}
