/**
 * The lessons' prose and per-lesson constants: title, what to look at (worded from the sizes), what the paper
 * found, and the values each lesson compares (betas, labeler agreements, K). Data only; lessons.ts builds the
 * lessons' runs and charts from it.
 */
import type { LessonSizes } from './sizes';

export interface LessonText {
  title: string;
  explanation(sizes: LessonSizes): string;
  paperFinding: string;
}

const pct = (x: number) => `${Math.round(100 * x)} %`;

/** The lessons in order (0: SFT and instruction following, then six of RLHF, then DPO beside PPO-ptx). */
export const LESSON_IDS = [
  'instruction-following',
  'rankings',
  'k-way',
  'over-optimisation',
  'kl-frontier',
  'alignment-tax',
  'win-rate',
  'dpo',
] as const;
export type LessonId = (typeof LESSON_IDS)[number];

/** What each lesson compares. */
export const CONSTANTS = {
  rankings: { agreements: [1, 0.73], seed: 11, k: 4, labeler: 'short-answers' },
  kWay: { ks: [2, 4, 9], seed: 21, heldOutK: 4, labeler: 'short-answers', /** Completions per batch, about. */ batchCompletions: 16 },
  /** The proxy reward model's rankings (K = 4, noiseless) and seed. */
  proxy: { k: 4, seed: 31 },
  overOptimisation: { betas: [0, 0.05] },
  frontier: { betas: [0, 0.01, 0.05, 0.2] },
  alignmentTax: { beta: 0.02 },
  winRate: { beta: 0.02 },
  /** The rankings (K = 4, noiseless) that DPO and the reward model share; PPO-ptx's beta (InstructGPT's). */
  dpo: { k: 4, seed: 41, ppoBeta: 0.02 },
} as const;

export const LESSON_TEXT: Record<LessonId, LessonText> = {
  'instruction-following': {
    title: 'SFT teaches the model to follow instructions',
    explanation: (sizes) =>
      'The pretrained model has read stories and instructions, but it keeps to an instruction only now and then. SFT trains a copy of it ' +
      'on demonstrations: instructions answered by stories that do what they ask. Before the first step and every ' +
      `${sizes.sft.evalEvery} steps, the model answers ${sizes.sft.followingPrompts} held-out instructions; watch the share of ` +
      'the characters, animals, objects, place, mood, ending and length they name that its responses honour, and compare ' +
      'the responses before SFT with the latest.',
    paperFinding:
      'InstructGPT starts from GPT-3 fine-tuned on about 13k labeler demonstrations (16 epochs): the SFT model already follows ' +
      'instructions and explicit constraints far better than GPT-3, and labelers prefer it to GPT-3 even with a few-shot ' +
      'prompt (Figures 1 and 3); RLHF then improves on the SFT model.',
  },
  rankings: {
    title: 'A reward model learns from rankings',
    explanation: () =>
      'Each run trains fresh reward models on more and more rankings (4 completions each) by the simulated labeler who likes ' +
      'short answers, and ' +
      'measures how often they order held-out pairs as the labeler does. Compare a labeler who always agrees with its own ' +
      `taste (${pct(CONSTANTS.rankings.agreements[0])}) with one as consistent as the paper's labelers ` +
      `(${pct(CONSTANTS.rankings.agreements[1])}): watch accuracy climb with rankings, and the ` +
      "noisy labeler's curve flatten below its own agreement.",
    paperFinding:
      "InstructGPT's reward models reach about 72 % accuracy at predicting held-out labelers' preferences, about as often as " +
      'labelers agree with each other (72.6 ± 1.5 %); more comparisons help, but labeler disagreement caps what can be learnt.',
  },
  'k-way': {
    title: 'K-way rankings are cheaper',
    explanation: () =>
      'The labeler reads the same number of completions in each run, but ranks them 2, 4 or 9 at a time. A ranking of K ' +
      'completions yields K(K-1)/2 comparisons, so more K gives more comparisons per completion read. Compare the held-out ' +
      'accuracy at equal reading effort.',
    paperFinding:
      'InstructGPT had labelers rank 4 to 9 completions per prompt: K(K-1)/2 comparisons for the cost of reading K, and ' +
      'training on all comparisons of a prompt in one batch avoids the overfitting of shuffled pairs.',
  },
  'over-optimisation': {
    title: 'Over-optimising the reward model',
    explanation: (sizes) =>
      `A reward model trained on only ${sizes.proxyRankings} rankings is an imperfect proxy for the labeler. PPO maximises the proxy; ` +
      "the labeler's gold score tells how good the text really is. Plot both against sqrt(KL) from the SFT model: without a KL " +
      'penalty (beta = 0) the proxy keeps rising while gold peaks and falls; beta = 0.05 holds the policy near the SFT model. ' +
      'Compare the samples at the gold peak with those at the end.',
    paperFinding:
      'Gao et al. (2022): gold reward first rises, then falls as the policy moves away from the initial model (measured by ' +
      'sqrt(KL)), while the proxy reward keeps rising. InstructGPT keeps a per-token KL penalty (beta = 0.02) for this reason.',
  },
  'kl-frontier': {
    title: 'The KL-reward frontier',
    explanation: () =>
      'The same proxy reward model, four PPO runs with KL coefficients beta = 0, 0.01, 0.05 and 0.2. Each run is one point: ' +
      'its final KL from the SFT model against its final gold score. Larger beta buys closeness to the SFT model with reward.',
    paperFinding:
      'The KL penalty trades reward against staying near the SFT model (InstructGPT: beta = 0.02); raising beta alone does not ' +
      'remove the alignment tax (Figure 34), and too little lets the policy exploit the reward model (Gao et al. 2022).',
  },
  'alignment-tax': {
    title: 'The alignment tax and PPO-ptx',
    explanation: () =>
      'PPO optimises the reward model and forgets some of its pretraining: its loss on held-out pretraining text rises. ' +
      'PPO-ptx mixes pretraining gradients into every update. Compare the held-out pretraining loss and the gold score of both.',
    paperFinding:
      'Plain PPO regresses on public NLP benchmarks (the "alignment tax"); PPO-ptx, mixing in the pretraining objective, ' +
      'largely recovers them while keeping labeler preference (InstructGPT §4.2, Figures 28-29, 33).',
  },
  'win-rate': {
    title: 'Win rate against the SFT model',
    explanation: () =>
      "PPO optimises the labeler's own score (a perfect reward model). Every few iterations the labeler compares the policy's " +
      "and the SFT model's responses to the same held-out prompts " +
      '(ties count half). The win rate starts at 50 % and should climb; the band is the 95 % Wilson interval.',
    paperFinding:
      'Labelers prefer 175B InstructGPT to 175B SFT-only models and to GPT-3 (85 ± 3 % against GPT-3); even 1.3B InstructGPT ' +
      'beats 175B GPT-3 (Figure 1).',
  },
  dpo: {
    title: 'DPO needs no reward model',
    explanation: (sizes) =>
      `The labeler ranks ${sizes.dpo.rankings} sets of ${CONSTANTS.dpo.k} responses of the SFT model once. DPO learns from these ` +
      'rankings directly: its implicit reward is beta·log(pi/pi_ref), with the SFT model as pi_ref, and it never samples while it ' +
      'trains. The classic recipe first trains a reward model on the same rankings, then PPO-ptx samples and optimises its ' +
      "score. Both are measured alike: the labeler's gold score of their responses to the same held-out prompts (the same " +
      'sampling seed) against the KL from the SFT model of those responses, one point per evaluation. Compare where each ' +
      'gets, how far it moves, and the seconds of training each needs (the reward model counted in PPO-ptx).',
    paperFinding:
      'Rafailov et al. (2023): the KL-constrained reward maximisation that RLHF solves with a reward model and PPO has a ' +
      'closed-form optimum, so the policy can be fitted to the preferences directly; DPO matched or beat PPO on sentiment ' +
      'control (with a better reward-KL frontier), summarisation and single-turn dialogue, while being much lighter to train: ' +
      'no reward model and no sampling during fine-tuning.',
  },
};
