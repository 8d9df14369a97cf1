/**
 * Rankings by a built-in labeler without noise, of K demonstration responses cut to 1 to 4 sentences, to prompts of
 * at most 16 tokens: a preference a small model can see within 48 positions. The reward-model and DPO learning tests
 * and scripts/lr-ceiling.ts train on them ('short-answers' by default).
 */
import { splitSentences } from '../data/analyze';
import { labelerById, rankCompletions } from '../data/labelers';
import { Rng } from '../data/rng';
import type { Tokenizer } from '../data/tokenizer';
import { generateDemonstrations, generatePrompts } from '../data/world';
import type { Ranking } from './rankings';

export function labelerRankings(labelerId: string, tokenizer: Tokenizer, count: number, seed: number, k = 4): Ranking[] {
  const rng = new Rng(seed);
  const labeler = labelerById(labelerId);
  const demos = generateDemonstrations(seed, count * k);
  const prompts = generatePrompts(seed + 1, 4 * count)
    .filter((p) => tokenizer.encode(p).length <= 16)
    .slice(0, count);
  return prompts.map((prompt, i) => {
    const completions = demos.slice(i * k, (i + 1) * k).map(
      (d) =>
        ' ' +
        splitSentences(d.response)
          .slice(0, 1 + rng.int(4))
          .join(' '),
    );
    const order = rankCompletions(labeler, completions, { noise: 0, rng });
    return { id: `sim-${seed}-${i}`, prompt, completions, order, createdAt: 0, source: 'labeler', labelerId: labeler.id };
  });
}

export function shortAnswerRankings(tokenizer: Tokenizer, count: number, seed: number, k = 4): Ranking[] {
  return labelerRankings('short-answers', tokenizer, count, seed, k);
}
