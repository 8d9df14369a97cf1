/**
 * Learning test for GRPO (rlhf/grpo.ts) on the tiny pretrained model, which stands in for the SFT model (its corpus
 * already holds instruction/response pairs); prompts of at most 16 tokens, completions of 24 tokens, groups of 8 for
 * 8 prompts a step. Measured on 64 held-out prompts (the same sampling seed before and after): the verifiable reward,
 * the instruction-following program (stages/rewardKinds.ts), raises the share of what held-out instructions named
 * that the responses honour by at least 15 points. It runs again with the rewards negated, which flips every
 * advantage exactly (A(-r) = -A(r): the group's mean changes sign, its std does not): that broken twin misses the
 * threshold. Its twin with a learned reward model is rlhf-grpo-learning-rm.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { instructionFollowingReward } from '../../src/lib/stages/rewardKinds';
import { figures, runGrpo } from './grpo-learning-setup';
import { fixtureExists } from './rlhf-stage-fixture';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

describe('GRPO learning', () => {
  it.skipIf(!fixtureExists)('(a) the instruction-following reward raises held-out instruction following by >= 15 points', async () => {
    // TRL's default beta 0 (no reference model). Seeds 1, 2, 3 gained 30, 27, 9 points; at DeepSeekMath's 0.04 they
    // gained 1 to 2 (README: why the k3 term holds this tiny model back is open)
    const settings = { steps: 30, learning_rate: 5e-4, beta: 0 };
    const key = 'objective/instruction_following';
    const right = await runGrpo({ rewardFunction: instructionFollowingReward }, true, settings);
    const flipped = await runGrpo({ rewardFunction: (p, r) => -instructionFollowingReward(p, r) }, true, settings);
    console.log(`GRPO (a) held-out instruction following ${figures(right, key)}; advantages flipped: ${figures(flipped, key)}`);
    expect(right.after[key] - right.before[key]).toBeGreaterThanOrEqual(0.15);
    expect(flipped.after[key] - flipped.before[key]).toBeLessThan(0.15);
  });
});
