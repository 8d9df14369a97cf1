/**
 * Prompts drawn by the task mix (issue 24, item 6): the playground's rollout and ranking prompts follow SFT's task_mix,
 * keep to what fits the policy's context, and carry their family to the ranking task; a new mix drops queued tasks of
 * the families it leaves out; the instruction-following reward and metric score only story requests (tfjs on wasm).
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { familyOfPrompt, TASK_FAMILIES, type TaskFamily } from '../../src/lib/data/tasks/families';
import { generateTasks, mixFrom, TASK_MIX, TASK_MIX_SETTING } from '../../src/lib/data/tasks/mix';
import { formatPrompt } from '../../src/lib/data/world';
import { decodeCheckpoint } from '../../src/lib/model/checkpoint';
import { responseMetrics } from '../../src/lib/rlhf/metrics';
import { ANSWER_ROOM, PROMPT_COUNT, PromptPool } from '../../src/lib/session/prompts';
import { animalNamedReward, instructionFollowingReward } from '../../src/lib/stages/rewardKinds';
import type { EngineEvent } from '../../src/lib/types';
import { useWasmBackend } from './setup-tf';
import { tinySession } from './tiny-session';

beforeAll(useWasmBackend);

const { tokenizer } = decodeCheckpoint(new Uint8Array(readFileSync('tests/fixtures/tiny-pretrained.safetensors')));

describe('the prompt pool', () => {
  it("draws the default mix's families with their shares (within 4 standard errors) where every prompt fits", () => {
    const prompts = new PromptPool().of(TASK_MIX_SETTING.default, tokenizer, 128);
    expect(prompts).toHaveLength(PROMPT_COUNT);
    const counts = countFamilies(prompts);
    for (const f of TASK_FAMILIES) {
      const sd = Math.sqrt((TASK_MIX[f] * (1 - TASK_MIX[f])) / PROMPT_COUNT);
      expect(Math.abs((counts[f] ?? 0) / PROMPT_COUNT - TASK_MIX[f])).toBeLessThan(4 * sd);
    }
  });

  it('keeps only prompts that leave room to answer in the context; one family alone; a mix that cannot fit says so', () => {
    const pool = new PromptPool();
    const short = pool.of(TASK_MIX_SETTING.default, tokenizer, 64);
    expect(Math.max(...short.map((p) => tokenizer.encode(p).length))).toBeLessThanOrEqual(64 - ANSWER_ROOM);
    expect(countFamilies(short).summarisation).toBeUndefined(); // its prompts hold a story: 60 tokens and more
    expect(pool.of(TASK_MIX_SETTING.default, tokenizer, 64)).toBe(short); // drawn once per mix and context
    const closed = pool.of('closed_qa:1', tokenizer, 128);
    expect(Object.keys(countFamilies(closed))).toEqual(['closed_qa']);
    expect(() => pool.of('closed_qa:1', tokenizer, 40)).toThrow(/No prompt of this task mix fits the model's context of 40 tokens/);
  });
});

describe('the session draws ranking tasks from the mix', () => {
  it('tasks carry their family; closed QA alone makes the next tasks closed QA, queued ones of other families dropped', async () => {
    const events: EngineEvent[] = [];
    const engine = await tinySession(events);
    const before = [await engine.nextRankingTask(2), await engine.nextRankingTask(2), await engine.nextRankingTask(2)];
    for (const task of before) expect(task.family).toBe(familyOfPrompt(task.prompt));
    expect(before.every((t) => t.family !== null)).toBe(true);
    await waitFor(() => engine.counters().queued > 0); // spares sampled behind them, of the default mix
    engine.configure('sft', { task_mix: 'closed_qa:1' });
    const after = [];
    for (let i = 0; i < 6; i++) after.push(await engine.nextRankingTask(2));
    expect(after.map((t) => t.family)).toEqual(new Array(6).fill('closed_qa'));
    expect(() => engine.configure('sft', { task_mix: 'closed_qa:0' })).toThrow(/at least one part with a weight above 0/);
    expect(engine.status().settings.sft.task_mix).toBe('closed_qa:1'); // a refused mix changes nothing
  }, 300_000);
});

describe('rewards and metrics cope with every family', () => {
  const [closedQa] = generateTasks(4, 1, mixFrom({ closed_qa: 1 }));
  const story = formatPrompt('Write a story about Tom and a dog at the park.');

  it('instruction following scores story requests only; the other families score 0 (task_grader grades them)', () => {
    expect(instructionFollowingReward(story, ' Tom and the dog played at the park. The end.')).toBeGreaterThan(0.5);
    expect(instructionFollowingReward(closedQa.prompt, closedQa.response)).toBe(0);
    expect(instructionFollowingReward(closedQa.prompt, ` ${closedQa.prompt}`)).toBe(0);
    expect(animalNamedReward(story, ' The dog barked.')).toBe(1);
    expect(animalNamedReward(closedQa.prompt, ` ${closedQa.prompt}`)).toBe(0);
  });

  it("objective/instruction_following pools the story requests' constraints only", () => {
    const onStories = responseMetrics([{ prompt: story, response: ' Tom and the dog played at the park.' }]);
    const mixed = responseMetrics([
      { prompt: story, response: ' Tom and the dog played at the park.' },
      { prompt: closedQa.prompt, response: ' Nobody.' },
    ]);
    expect(mixed['objective/instruction_following']).toBe(onStories['objective/instruction_following']);
    expect(responseMetrics([{ prompt: closedQa.prompt, response: ' Nobody.' }])['objective/instruction_following']).toBeUndefined();
  });
});

function countFamilies(prompts: string[]): Partial<Record<TaskFamily | 'none', number>> {
  const counts: Partial<Record<TaskFamily | 'none', number>> = {};
  for (const p of prompts) {
    const f = familyOfPrompt(p) ?? 'none';
    counts[f] = (counts[f] ?? 0) + 1;
  }
  return counts;
}

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(done()).toBe(true);
}
