/**
 * The lax verifier 'animal_named' (stages/rewardKinds.ts) on hand-written instructions and responses: 1 when the response
 * names the animal asked for (a plural counts), 0 when it names none or another, 0 for an instruction that asks for no
 * animal, and 1 however little else of the instruction the response honours. Then its place in the stages that read the
 * Reward setting: GRPO's reward chart has its series, PPO-ptx and GRPO accept the setting and score with the program.
 */
import { describe, expect, it } from 'vitest';
import { instructionFollowing } from '../../src/lib/data/instructionFollowing';
import { formatPrompt } from '../../src/lib/data/world';
import { applySettings, defaultsOf } from '../../src/lib/settings';
import type { StageContext } from '../../src/lib/stages/descriptor';
import { grpoStage } from '../../src/lib/stages/grpo';
import { ppoStage } from '../../src/lib/stages/ppo';
import { animalNamedReward, REWARD_KINDS, rewardBlocker, rewardSource, type RewardKind } from '../../src/lib/stages/rewardKinds';

const DOG_AT_PARK = formatPrompt('Write a short sad story about Tom and a dog at the park with a sad ending.');
const OWL = formatPrompt('Can you write a story about an owl?');
const NO_ANIMAL = formatPrompt('Write a story about Lily at the beach.');

describe("the lax reward 'animal_named'", () => {
  it('is 1 when the response names the animal asked for, a plural included', () => {
    expect(animalNamedReward(DOG_AT_PARK, ' The dog barked.')).toBe(1);
    expect(animalNamedReward(OWL, ' Two owls hooted in the tree.')).toBe(1);
    // the whole text (prompt + response) as the response: only the part after "Response:" is read
    expect(animalNamedReward(DOG_AT_PARK, `${DOG_AT_PARK} A dog ran.`)).toBe(1);
  });

  it('is 0 when the response names no animal or another one, and the instruction itself does not count', () => {
    expect(animalNamedReward(DOG_AT_PARK, ' Tom went to the park. He was sad.')).toBe(0);
    expect(animalNamedReward(DOG_AT_PARK, ' The cat purred.')).toBe(0);
    expect(animalNamedReward(DOG_AT_PARK, `${DOG_AT_PARK} Tom was sad.`)).toBe(0);
    expect(animalNamedReward(OWL, '')).toBe(0);
  });

  it('is 0 for an instruction that asks for no animal, whatever the response names', () => {
    expect(animalNamedReward(NO_ANIMAL, ' The dog barked. The owl hooted.')).toBe(0);
    expect(animalNamedReward(formatPrompt('Write a story.'), ' The dog barked.')).toBe(0);
  });

  it('is lax: full reward for a response that honours nothing else the instruction asked', () => {
    const response = ' The dog barked. The dog barked. The dog barked. The dog barked. The dog barked. Lily smiled.';
    const following = instructionFollowing(DOG_AT_PARK, response);
    // asked: Tom, dog, park, sad mood, sad ending, short; honoured: the dog only
    expect(following.total).toBe(6);
    expect(following.honoured).toBe(1);
    expect(animalNamedReward(DOG_AT_PARK, response)).toBe(1);
  });
});

describe("the Reward setting with 'animal_named'", () => {
  it("is one of GRPO's reward-chart series", () => {
    expect(REWARD_KINDS).toContain('animal_named');
    const chart = grpoStage.charts!.find((c) => c.id === 'grpo-chart-reward')!;
    expect(chart.series.map((s) => s.key)).toContain('rewards/animal_named/mean');
    expect(chart.series.find((s) => s.key === 'rewards/animal_named/mean')!.label).toBe('animal named');
  });

  it('is accepted by PPO-ptx and GRPO, needs no reward model, and scores with the program', () => {
    // a context with no reward model and no labeler: the verifiable kinds still start
    const ctx = { stageObject: () => null, stageState: () => 'not-started' } as unknown as StageContext;
    for (const stage of [ppoStage, grpoStage]) {
      const settings = applySettings(stage.settings, defaultsOf(stage.settings), { reward: 'animal_named' });
      expect(settings.reward, stage.name).toBe('animal_named');
      expect(rewardBlocker(ctx, settings.reward as RewardKind, stage.title), stage.name).toBeNull();
    }
    expect(rewardBlocker(ctx, 'learned', 'GRPO')).toMatch(/reward model first/);
    const source = rewardSource(ctx, 'animal_named');
    expect(source.rewardModel).toBeUndefined();
    expect(source.rewardFunction!(DOG_AT_PARK, ' The dog barked.')).toBe(1);
    expect(source.rewardFunction!(DOG_AT_PARK, ' Tom was sad.')).toBe(0);
  });
});
