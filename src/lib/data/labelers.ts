/**
 * Simulated labelers: scripted preferences over the small world, for lecture mode and for tests that
 * check whether a reward model can learn a known preference. A labeler scores a response (its gold
 * score); ranking adds Gaussian noise to the standardised score, as in Thurstone's model.
 */
import { analyzeText, type TextFeatures } from './analyze';
import { instructionFollowingOfText } from './instructionFollowing';
import type { Ending, Mood } from './lexicon';
import { normalQuantile } from './normal';
import type { Rng } from './rng';
import { gradeResponse } from './tasks/grade';
import { generateDemonstrations } from './world';

export interface Labeler {
  id: string;
  name: string;
  description: string;
  /**
   * Higher = preferred; reads the response (a formatted prompt in front is ignored, except by labelers
   * that judge the response against its instruction, such as 'follows-instruction').
   */
  gold(text: string): number;
}

const ENDING_SCORE: Record<Ending | 'none', number> = { happy: 2, funny: 1, surprise: 0.5, sad: -2, none: -1 };
const MOOD_SCORE: Record<Mood | 'none', number> = { happy: 0.3, calm: 0.2, scared: -0.2, sad: -0.3, angry: -0.3, none: 0 };

/** Small terms shared by all labelers; they break ties in the main preference. */
function craft(f: TextFeatures): number {
  return 0.3 * (f.wellFormed ? 1 : 0) + 0.2 * f.knownWordShare - 0.5 * f.repetition + 0.1 * f.distinctWordShare;
}

function scoredBy(score: (f: TextFeatures) => number): (text: string) => number {
  return (text) => score(analyzeText(text));
}

export const LABELERS: Labeler[] = [
  {
    id: 'happy-endings',
    name: 'Likes happy endings',
    description: 'Prefers stories that end happily (then funny, then surprising; sad endings last), and a cheerful mood.',
    gold: scoredBy((f) => ENDING_SCORE[f.ending ?? 'none'] + MOOD_SCORE[f.mood ?? 'none'] + craft(f)),
  },
  {
    id: 'short-answers',
    name: 'Likes short answers',
    description: 'Prefers the response with the fewest words, as long as it says something.',
    gold: scoredBy((f) => (f.words < 3 ? -5 : -0.05 * f.words) + craft(f)),
  },
  {
    id: 'dog-lover',
    name: 'Dog lover',
    description: 'Prefers stories with a dog in them, and the more the dog appears the better.',
    gold: scoredBy((f) => {
      const dogs = f.mentions.dog ?? 0;
      return (dogs > 0 ? 2 : 0) + 0.25 * Math.min(dogs, 4) + craft(f);
    }),
  },
  {
    id: 'no-repetition',
    name: 'Dislikes repetition',
    description: 'Prefers responses that do not repeat phrases or sentences and use varied words.',
    gold: scoredBy((f) => -5 * f.repetition + 0.5 * f.distinctWordShare + 0.3 * (f.wellFormed ? 1 : 0) + 0.2 * f.knownWordShare),
  },
  {
    id: 'follows-instruction',
    name: 'Follows the instruction',
    description:
      'Prefers the response that honours more of what the instruction asked for: the characters, animals, objects, place, mood, ending and length it names.',
    gold: (text) => {
      const f = analyzeText(text);
      const following = instructionFollowingOfText(text);
      // An instruction that names nothing (or no instruction at all) is followed by any response: craft decides.
      return 3 * (following.total > 0 ? following.share : 1) + craft(f);
    },
  },
  {
    id: 'no-made-up-facts',
    name: 'Dislikes made-up facts',
    description:
      'On tasks about a story in the prompt (rewrite, summary, questions, lists, endings), prefers correct answers and strongly dislikes any character, animal, object or place that the story does not have.',
    gold: (text) => {
      const grade = text.startsWith('Instruction:') ? gradeResponse(text, text) : null;
      const f = analyzeText(text);
      if (!grade) return craft(f);
      // one made-up fact costs more than a correct answer earns: an honest wrong answer beats an invented right one
      return (grade.correct ? 1 : 0) - 1.5 * Math.min(grade.madeUp.length, 2) + craft(f);
    },
  },
];

export function labelerById(id: string): Labeler {
  const labeler = LABELERS.find((l) => l.id === id);
  if (!labeler) throw new Error(`Unknown labeler "${id}"; known: ${LABELERS.map((l) => l.id).join(', ')}.`);
  return labeler;
}

/**
 * Indices of `completions`, best first. Each completion gets its standardised gold score plus
 * noise * N(0, 1); noise 0 gives the gold order (ties kept in input order).
 */
export function rankCompletions(labeler: Labeler, completions: string[], opts: { noise: number; rng: Rng }): number[] {
  if (!(opts.noise >= 0 && Number.isFinite(opts.noise))) throw new Error(`noise must be a finite number >= 0, got ${opts.noise}.`);
  const golds = completions.map((c) => labeler.gold(c));
  const scores = golds.map(
    (g, i) => standardise(labeler, g, completions[i].startsWith('Instruction:')) + (opts.noise > 0 ? opts.noise * opts.rng.normal() : 0),
  );
  return golds.map((_, i) => i).sort((i, j) => scores[j] - scores[i] || golds[j] - golds[i] || i - j);
}

/**
 * The noise for which a ranked pair agrees with the gold order with probability p.
 * Assumption: standardised gold scores of two completions are independent N(0, 1), so their difference d is
 * N(0, 2); with noise s per score, P(agree) = E[Phi(|d| / (s * sqrt 2))] = 1 - atan(s) / pi. Standardising
 * by quantiles of the world's demonstrations (below) makes the assumption hold for responses like those.
 */
export function noiseForAgreement(targetPairAgreement: number): number {
  const p = targetPairAgreement;
  if (!(p > 0.5 && p <= 1)) throw new Error(`Pair agreement must be in (0.5, 1], got ${p}.`);
  return p === 1 ? 0 : Math.tan(Math.PI * (1 - p));
}

/** Share of ranked pairs (over all lists) whose order agrees with gold; pairs with equal gold are skipped. NaN if none. */
export function pairAgreement(labeler: Labeler, completionsList: string[][], rankings: number[][]): number {
  if (completionsList.length !== rankings.length) throw new Error('pairAgreement needs one ranking per list of completions.');
  let agree = 0;
  let pairs = 0;
  completionsList.forEach((completions, list) => {
    const ranking = rankings[list];
    if (
      ranking.length !== completions.length ||
      new Set(ranking).size !== ranking.length ||
      ranking.some((i) => !(i >= 0 && i < completions.length))
    ) {
      throw new Error(`Ranking ${list} is not a permutation of its ${completions.length} completions.`);
    }
    const golds = completions.map((c) => labeler.gold(c));
    for (let a = 0; a < ranking.length; a++) {
      for (let b = a + 1; b < ranking.length; b++) {
        const [better, worse] = [golds[ranking[a]], golds[ranking[b]]];
        if (better === worse) continue;
        pairs++;
        if (better > worse) agree++;
      }
    }
  });
  return pairs === 0 ? NaN : agree / pairs;
}

// ---- standardisation ----

/**
 * Gold -> N(0, 1) scale through the empirical quantiles of gold over the world's demonstrations: each
 * distinct reference value maps to normalQuantile of its mid-rank, values in between are interpolated, and
 * values beyond the range continue linearly (gold / std), so the order is kept everywhere.
 */
interface Calibration {
  values: number[]; // distinct reference golds, ascending
  z: number[];
  std: number;
}

const REFERENCE_SEED = 20220304;
const REFERENCE_SIZE = 2000;
const calibrations = new Map<Labeler, Map<boolean, Calibration>>();

function standardise(labeler: Labeler, gold: number, prompted: boolean): number {
  const { values, z, std } = calibrationOf(labeler, prompted);
  const last = values.length - 1;
  if (gold <= values[0]) return z[0] - (values[0] - gold) / std;
  if (gold >= values[last]) return z[last] + (gold - values[last]) / std;
  let hi = 1;
  while (values[hi] < gold) hi++;
  const t = (gold - values[hi - 1]) / (values[hi] - values[hi - 1]);
  return z[hi - 1] + t * (z[hi] - z[hi - 1]);
}

/**
 * Reference texts: the world's demonstration responses; for texts that carry their instruction (prompted),
 * each demonstration's prompt in front of a response, where in every block of four the last two swap
 * responses: half of them follow their instruction, half answer another one. For labelers that read the
 * response only, both references hold the same responses, so both calibrations are the same.
 */
function calibrationOf(labeler: Labeler, prompted: boolean): Calibration {
  let byKind = calibrations.get(labeler);
  if (!byKind) calibrations.set(labeler, (byKind = new Map()));
  let calibration = byKind.get(prompted);
  if (!calibration) {
    const demos = generateDemonstrations(REFERENCE_SEED, REFERENCE_SIZE);
    const partner = (i: number) => (i % 4 === 2 && i + 1 < demos.length ? i + 1 : i % 4 === 3 ? i - 1 : i);
    const texts = prompted ? demos.map((d, i) => d.prompt + demos[partner(i)].response) : demos.map((d) => d.response);
    calibration = calibrate(texts.map((t) => labeler.gold(t)));
    byKind.set(prompted, calibration);
  }
  return calibration;
}

function calibrate(golds: number[]): Calibration {
  const sorted = [...golds].sort((a, b) => a - b);
  const n = sorted.length;
  const values: number[] = [];
  const z: number[] = [];
  for (let start = 0; start < n;) {
    let end = start;
    while (end < n && sorted[end] === sorted[start]) end++;
    values.push(sorted[start]);
    z.push(normalQuantile((start + end) / 2 / n));
    start = end;
  }
  const mean = sorted.reduce((s, g) => s + g, 0) / n;
  const std = Math.sqrt(sorted.reduce((s, g) => s + (g - mean) ** 2, 0) / n) || 1;
  return { values, z, std };
}
