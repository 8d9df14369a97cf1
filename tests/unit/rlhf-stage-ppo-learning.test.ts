/**
 * Learning test (b) for PPO, on the tiny pretrained model, which stands in for the SFT model (its
 * corpus already holds instruction/response pairs). Shared setup: rlhf-stage-ppo-setup.ts.
 *
 * The reward is the 'dog-lover' labeler's gold score itself, a stand-in for a trained reward model:
 * training one too would double the time, and test (a) covers reward-model learning. 'dog-lover'
 * rather than 'short-answers': the tiny model's responses rarely end within a short response budget,
 * so 'short-answers' needs 32+ token responses and more iterations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureExists } from './rlhf-stage-fixture';
import { runPpo } from './rlhf-stage-ppo-setup';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

describe('PPO learning', () => {
  it.skipIf(!fixtureExists)('(b) raises the gold score over the SFT model by a clear margin while the KL stays bounded', async () => {
    // 10 iterations of 8 rollouts; seeds 3, 5, 7, 11, 13, 17 gave +0.75, +0.69, +0.65, +0.84, +1.03, +0.86 with KL <= 13.2
    const { model, history, reference, policy } = await runPpo({ kl_coef: 0.05 }, 10, true);
    model.dispose();
    const kl = history.map((m) => m['objective/kl']);
    console.log(
      `(b) mean gold of SFT ${reference!.toFixed(3)} -> PPO ${policy!.toFixed(3)}; KL by iteration ${kl.map((k) => k.toFixed(2)).join(' ')}`,
    );
    expect(policy! - reference!).toBeGreaterThan(0.4);
    expect(Math.max(...kl)).toBeLessThan(25);
  });
});
