/**
 * The simulated labeler's data for the lessons: rankings of the policy's own samples, pairwise judgements, and the
 * KL from the SFT model of a policy's samples (the one measure of distance that both PPO and DPO runs report).
 */
import * as tf from '@tensorflow/tfjs';
import { noiseForAgreement, rankCompletions, type Labeler } from '../data/labelers';
import { splitSentences } from '../data/analyze';
import { Rng } from '../data/rng';
import { generateDemonstrations } from '../data/world';
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import { summedLogProbs } from '../model/logprobs';
import type { Ranking } from '../rlhf/rankings';
import { rolloutShape, writeResponses, type RolloutShape } from '../rlhf/rollout';
import { disposeSequenceTensors, packSequences, sequenceTensors, type TokenPair } from '../rlhf/sequences';
import type { RankingSpec } from './types';

/** Rows per sampling call. */
const SAMPLE_ROWS = 64;

/**
 * `count` rankings of K completions that `policy` writes for prompts drawn (in a seeded shuffle, cycling)
 * from `prompts`, ranked by the labeler with the noise that gives the spec's pair agreement.
 */
export async function labelerRankings(
  policy: GPT,
  tokenizer: Tokenizer,
  labeler: Labeler,
  prompts: string[],
  count: number,
  spec: RankingSpec,
  idPrefix: string,
): Promise<Ranking[]> {
  if (prompts.length === 0) throw new Error('the lesson needs prompts');
  const rng = new Rng(spec.seed);
  const order = rng.shuffle(prompts.map((_, i) => i));
  const chosen = Array.from({ length: count }, (_, i) => prompts[order[i % order.length]]);
  const rows = chosen.flatMap((p) => Array.from({ length: spec.k }, () => p));
  const texts =
    spec.source === 'policy'
      ? (await sampleResponsesOf(policy, tokenizer, rows, spec.responseLength, spec.temperature, spec.seed)).texts
      : demonstrationTexts(rows.length, spec.seed, rng);
  const noise = noiseForAgreement(spec.agreement);
  const rankRng = new Rng(spec.seed + 17);
  return chosen.map((prompt, i) => {
    const completions = texts.slice(i * spec.k, (i + 1) * spec.k);
    const read = spec.prompted ? completions.map((c) => prompt + c) : completions;
    const order = rankCompletions(labeler, read, { noise, rng: rankRng });
    return { id: `${idPrefix}-${i}`, prompt, completions, order, createdAt: 0, source: 'labeler', labelerId: labeler.id };
  });
}

/** `count` responses of the world's demonstrations, each cut to its first 1 to 4 sentences. */
export function demonstrationTexts(count: number, seed: number, rng: Rng): string[] {
  return generateDemonstrations(seed, count).map(
    (d) =>
      ' ' +
      splitSentences(d.response)
        .slice(0, 1 + rng.int(4))
        .join(' '),
  );
}

/** Responses a policy sampled: their text, their tokens and the row shape they were sampled at. */
export interface SampledResponses {
  texts: string[];
  pairs: TokenPair[];
  shape: RolloutShape;
  temperature: number;
}

/** The policy's responses to `prompts` (one each), SAMPLE_ROWS at a time. */
export async function sampleResponsesOf(
  policy: GPT,
  tokenizer: Tokenizer,
  prompts: string[],
  responseLength: number,
  temperature: number,
  seed: number,
): Promise<SampledResponses> {
  const encoded = prompts.map((p) => tokenizer.encode(p));
  const shape = rolloutShape(
    encoded.map((p) => p.length),
    policy.config.blockSize,
    responseLength,
  );
  const out: SampledResponses = { texts: [], pairs: [], shape, temperature };
  for (let start = 0; start < encoded.length; start += SAMPLE_ROWS) {
    const chunk = encoded.slice(start, start + SAMPLE_ROWS);
    const responses = await writeResponses(policy, tokenizer, chunk, shape, { temperature, seed: (seed * 7919 + start) >>> 0 });
    out.texts.push(...responses.texts);
    out.pairs.push(...responses.pairs);
  }
  return out;
}

/**
 * KL from the reference of each of the policy's own responses, the k1 estimate PPO reports as objective/kl:
 *   KL(x, y) = sum over response tokens t of log pi(y_t | x, y_<t) - log pi_ref(y_t | x, y_<t),
 * both at the sampling temperature, so that it means the same for a PPO and a DPO policy.
 */
export async function klFromReference(policy: GPT, reference: GPT, eosId: number, sampled: SampledResponses): Promise<number[]> {
  const { shape, temperature } = sampled;
  const kls: number[] = [];
  for (let start = 0; start < sampled.pairs.length; start += SAMPLE_ROWS) {
    const chunk = sampled.pairs.slice(start, start + SAMPLE_ROWS);
    const batch = sequenceTensors(packSequences(chunk, shape.time, eosId, chunk.length, shape.promptTokens));
    const ratio = tf.tidy(() =>
      tf.sub(
        summedLogProbs(policy, batch.ids, batch.targets, batch.targetMask, temperature),
        summedLogProbs(reference, batch.ids, batch.targets, batch.targetMask, temperature),
      ),
    );
    kls.push(...(await ratio.data()));
    ratio.dispose();
    disposeSequenceTensors(batch);
  }
  return kls;
}

/**
 * The labeler compares each policy response with the SFT response to the same prompt. Wins count 1, ties
 * in gold 0.5 (a noiseless labeler) and otherwise the labeler's noisy judgement decides.
 */
export function judgePairs(labeler: Labeler, policy: string[], sft: string[], agreement: number, rng: Rng): { wins: number; n: number } {
  const noise = noiseForAgreement(agreement);
  let wins = 0;
  policy.forEach((response, i) => {
    const a = labeler.gold(response);
    const b = labeler.gold(sft[i]);
    if (noise === 0 && a === b) wins += 0.5;
    else if (rankCompletions(labeler, [response, sft[i]], { noise, rng })[0] === 0) wins += 1;
  });
  return { wins, n: policy.length };
}
