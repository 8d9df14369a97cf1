import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/lib/model/config';
import { GPT } from '../../src/lib/model/gpt';
import { checkpointOf, decodeCheckpoint, encodeCheckpoint } from '../../src/lib/model/checkpoint';
import { BpeTokenizer } from '../../src/lib/data/bpeTokenizer';
import { generateCorpus, generateDemonstrations } from '../../src/lib/data/world';
import { pairMatrix, type Ranking } from '../../src/lib/rlhf/rankings';
import { pairDiffs, rankingLoss } from '../../src/lib/rlhf/losses';
import { RewardModel, scorePairs } from '../../src/lib/rlhf/rewardModel';
import { isHeldOut, rankingBatch, RewardStage } from '../../src/lib/rlhf/rewardTrainer';
import { encodePair } from '../../src/lib/rlhf/sequences';
import { useWasmBackend } from './setup-tf';

const tokenizer = BpeTokenizer.train(
  generateCorpus({ seed: 4, documents: 60 })
    .map((d) => d.text)
    .join('\n\n'),
  320,
);
const cfg: ModelConfig = { vocabSize: tokenizer.vocabSize, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
const demos = generateDemonstrations(8, 12);

function ranking(id: string, k: number): Ranking {
  const completions = demos.slice(0, k).map((d) => d.response);
  return { id, prompt: demos[k].prompt, completions, order: completions.map((_, i) => i).reverse(), createdAt: 0, source: 'labeler' };
}

beforeAll(useWasmBackend);

describe('reward model', () => {
  it('starts its head at w ~ N(0, 1/sqrt(d_model + 1)) and b = 0', async () => {
    const wide = GPT.init({ vocabSize: 10, blockSize: 4, nLayer: 1, nHead: 4, nEmbd: 1024 }, 1);
    const rm = RewardModel.fromPolicy(wide, 7);
    const w = Array.from(await rm.w.data());
    const mean = w.reduce((s, x) => s + x, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / w.length);
    expect(w.length).toBe(1024);
    expect(Math.abs(mean)).toBeLessThan((3 * std) / Math.sqrt(1024));
    expect(std).toBeGreaterThan(0.9 / Math.sqrt(1025));
    expect(std).toBeLessThan(1.1 / Math.sqrt(1025));
    expect((await rm.b.data())[0]).toBe(0);
    expect([...rm.headTensors().keys()]).toEqual(['reward.w', 'reward.b']);
    rm.dispose();
    wide.dispose();
  });

  it('clones its trunk from the SFT model and round-trips through a checkpoint', async () => {
    const policy = GPT.init(cfg, 2);
    const rm = RewardModel.fromPolicy(policy, 3);
    expect(await rm.trunk.params.get('wte')!.data()).toEqual(await policy.params.get('wte')!.data());
    rm.normalise(-0.5);
    const bytes = encodeCheckpoint(await checkpointOf(rm.trunk, tokenizer, 'reward', rm.headTensors()));
    const loaded = RewardModel.fromCheckpoint(decodeCheckpoint(bytes));
    const pairs = demos.slice(0, 3).map((d) => encodePair(tokenizer, d.prompt, d.response));
    expect(await scorePairs(loaded, pairs, 32, tokenizer.eosId, 4)).toEqual(await scorePairs(rm, pairs, 32, tokenizer.eosId, 4));
    [rm, loaded, policy].forEach((m) => m.dispose());
  });

  it('lays out all pairs of each ranking in one fixed-shape batch', () => {
    const encoded = [ranking('a', 3), ranking('b', 2)].map((r) => ({
      id: r.id,
      order: r.order,
      pairs: r.completions.map((c) => encodePair(tokenizer, r.prompt, c)),
    }));
    const { sequences, pairMatrix, pairWeights } = rankingBatch(encoded, 3, 4, 32, tokenizer.eosId);
    expect(sequences.rows).toBe(12); // 3 rankings x 4 completions
    expect(pairWeights.length).toBe(18); // 3 rankings x C(4, 2)
    const weighted = Array.from(pairWeights).filter((w) => w > 0);
    expect(weighted).toHaveLength(3 + 1);
    expect(weighted.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6); // mean over 2 rankings of each one's mean pair loss
    expect(pairWeights[0]).toBeCloseTo(1 / (2 * 3), 6);
    expect(pairWeights[6]).toBeCloseTo(1 / (2 * 1), 6);
    // ranking a's order is [2, 1, 0]: its first pair is completion 2 (row 2) over completion 1 (row 1)
    expect(pairMatrix[0 * 12 + 2]).toBe(1);
    expect(pairMatrix[0 * 12 + 1]).toBe(-1);
    // ranking b sits in rows 4..5: order [1, 0]
    expect(pairMatrix[6 * 12 + 5]).toBe(1);
    expect(pairMatrix[6 * 12 + 4]).toBe(-1);
    expect(Array.from(pairMatrix.subarray(7 * 12)).every((x) => x === 0)).toBe(true); // padding pairs
    expect(sequences.responseLength[3]).toBe(1); // dummy row
  });

  it('computes Eq. 1 from the pair matrix, equal to the hand sum, and its gradient survives tf.tidy', async () => {
    const { matrix, weights, rows, pairRows } = pairMatrix([
      [2, 0, 1],
      [1, 0],
    ]);
    const pairs = tf.tensor2d(matrix, [pairRows, rows]);
    const pairWeights = tf.tensor1d(weights);
    const r = [0.3, -1.2, 2, 0.5, 0.1];
    const rewards = tf.variable(tf.tensor1d(r));
    // ranking a: 2 > 0 > 1 (pairs 2-0, 2-1, 0-1), ranking b (rows 3..4): 1 > 0; mean over rankings of each one's mean pair loss
    const nll = (d: number) => Math.log(1 + Math.exp(-d));
    const hand = ((nll(r[2] - r[0]) + nll(r[2] - r[1]) + nll(r[0] - r[1])) / 3 + nll(r[4] - r[3])) / 2;
    expect((await rankingLoss(pairDiffs(rewards, pairs), pairWeights).data())[0]).toBeCloseTo(hand, 6);
    const { grads } = tf.variableGrads(
      () => tf.tidy(() => rankingLoss(pairDiffs(tf.mul(rewards, 1) as tf.Tensor1D, pairs), pairWeights)),
      [rewards],
    );
    const g = await grads[rewards.name].data();
    expect(g[2]).toBeLessThan(0); // raising the best completion's reward lowers the loss
    expect(g[1]).toBeGreaterThan(0);
  });

  it('holds out rankings by id, the same way every time', () => {
    const ids = Array.from({ length: 400 }, (_, i) => `r${i}`);
    const held = ids.filter((id) => isHeldOut(id, 0.2));
    expect(held.length).toBeGreaterThan(50);
    expect(held.length).toBeLessThan(110);
    expect(ids.filter((id) => isHeldOut(id, 0.2))).toEqual(held);
    expect(ids.filter((id) => isHeldOut(id, 0))).toEqual([]);
  });

  it('trains, normalises demonstrations to mean 0, updates incrementally and leaks no tensors', async () => {
    const policy = GPT.init(cfg, 2);
    const rm = RewardModel.fromPolicy(policy, 3);
    const rankings = Array.from({ length: 6 }, (_, i) => ranking(`id${i}`, 2 + (i % 3)));
    const stage = new RewardStage(
      rm,
      tokenizer,
      rankings,
      { rankings_per_batch: 2, epochs: 1, held_out_share: 0.3, learning_rate: 1e-3 },
      { demonstrations: demos.slice(0, 5), maxCompletions: 4 },
    );
    const { train, heldOut } = stage.counts;
    expect(train + heldOut).toBe(6);
    expect(stage.totalSteps).toBe(Math.ceil(train / 2));
    await stage.step(); // the first step caches the causal mask of this length
    const tensors = tf.memory().numTensors;
    while (stage.stepsDone < stage.totalSteps) {
      const m = await stage.step();
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(m.loss).toBeGreaterThan(0);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const demoPairs = demos.slice(0, 5).map((d) => encodePair(tokenizer, d.prompt, d.response));
    const demoScores = await scorePairs(rm, demoPairs, 32, tokenizer.eosId, 8);
    expect(demoScores.reduce((a, b) => a + b, 0) / 5).toBeCloseTo(0, 4); // normalised after the last step
    if (heldOut > 0) {
      const evaluation = await stage.evaluate();
      expect(Object.keys(evaluation).sort()).toEqual([
        'margin',
        'pair_accuracy',
        'pair_accuracy_high',
        'pair_accuracy_low',
        'pairs',
        'reward_mean',
        'reward_std',
      ]);
      expect(evaluation.pair_accuracy_low).toBeLessThanOrEqual(evaluation.pair_accuracy);
      expect(evaluation.pair_accuracy_high).toBeGreaterThanOrEqual(evaluation.pair_accuracy);
      const heldOutPairs = rankings
        .filter((r) => isHeldOut(r.id, 0.3))
        .reduce((n, r) => n + (r.order.length * (r.order.length - 1)) / 2, 0);
      expect(evaluation.pairs).toBe(heldOutPairs);
    }
    const before = await rm.w.data();
    stage.addRankings([ranking('new-1', 3), ranking('id0', 2)]); // id0 is known: skipped
    const update = await stage.update(2);
    expect(Number.isFinite(update.loss)).toBe(true);
    expect(stage.updatesDone).toBe(2);
    expect(Array.from(await rm.w.data())).not.toEqual(Array.from(before));
    expect(tf.memory().numTensors).toBe(tensors);
    const predicted = await stage.predict(demos[0].prompt, ['The end.', 'A long story about a dog.']);
    expect(predicted).toHaveLength(2);
    stage.dispose();
    rm.dispose();
    policy.dispose();
  });

  it('takes a step in parts (gradient accumulation, partMs 0: a ranking a part) to the same update as whole', async () => {
    const run = async (partMs?: number) => {
      const before = tf.memory().numTensors;
      const policy = GPT.init(cfg, 2);
      const rm = RewardModel.fromPolicy(policy, 3);
      const rankings = Array.from({ length: 8 }, (_, i) => ranking(`p${i}`, 2 + (i % 3)));
      const stage = new RewardStage(rm, tokenizer, rankings, { rankings_per_batch: 4, epochs: 2, held_out_share: 0 }, { partMs });
      const metrics = [];
      while (stage.stepsDone < stage.totalSteps) metrics.push(await stage.step());
      const weights = Array.from(await rm.trunk.params.get('wte')!.data());
      stage.dispose();
      rm.dispose();
      policy.dispose();
      return { metrics, weights, left: tf.memory().numTensors - before };
    };
    const whole = await run();
    const inParts = await run(0);
    expect(inParts.left).toBe(whole.left); // the parts leave no tensor behind that a whole step does not
    expect(inParts.metrics).toHaveLength(4);
    for (const [i, m] of inParts.metrics.entries()) {
      expect(m.loss).toBeCloseTo(whole.metrics[i].loss, 5);
      expect(m.batch_accuracy).toBeCloseTo(whole.metrics[i].batch_accuracy, 5);
      expect(m.grad_norm).toBeCloseTo(whole.metrics[i].grad_norm, 4);
    }
    expect(Math.max(...inParts.weights.map((w, i) => Math.abs(w - whole.weights[i])))).toBeLessThan(1e-5);
  });

  it('an incremental update stopped part-way goes on from where it stopped: the same weights and steps as one run whole', async () => {
    const run = async (stopAfter?: number) => {
      const policy = GPT.init(cfg, 2);
      const rm = RewardModel.fromPolicy(policy, 3);
      const rankings = Array.from({ length: 6 }, (_, i) => ranking(`u${i}`, 2 + (i % 3)));
      const stage = new RewardStage(rm, tokenizer, rankings, { rankings_per_batch: 2, epochs: 1, held_out_share: 0 }, { partMs: 0 });
      while (stage.stepsDone < stage.totalSteps) await stage.step();
      stage.addRankings([ranking('new-a', 3), ranking('new-b', 4)]);
      const seen: number[] = [];
      let stops = 0;
      const stop = () => stopAfter !== undefined && stops < 1 && seen.length > stopAfter && (stops += 1) > 0;
      let update = await stage.updateStoppably({ steps: 3, onStep: (done) => seen.push(done), stop });
      if (stopAfter !== undefined) {
        expect(update).toBeNull(); // stopped: the rankings still count as new
        expect(stage.updatesDone).toBe(0);
        update = await stage.updateStoppably({ onStep: (done) => seen.push(done) });
      }
      const weights = Array.from(await rm.trunk.params.get('wte')!.data());
      const result = { update, updates: stage.updatesDone, weights, seen };
      stage.dispose();
      rm.dispose();
      policy.dispose();
      return result;
    };
    const whole = await run();
    expect(whole.seen).toEqual([0, 1, 2, 3]);
    const stopped = await run(1);
    expect(stopped.updates).toBe(3);
    expect(stopped.seen.at(-1)).toBe(3);
    expect(Number.isFinite(stopped.update!.loss)).toBe(true);
    expect(stopped.update!.loss).toBeCloseTo(whole.update!.loss, 4);
    expect(Math.max(...stopped.weights.map((w, i) => Math.abs(w - whole.weights[i])))).toBeLessThan(1e-5);
  });
});
