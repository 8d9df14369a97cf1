/**
 * The task families (data/tasks): every demonstration is read back as its own family and graded correct with no
 * made-up fact; each grader on hand-written responses (correct, wrong, made-up fact, empty, over-long); the declared
 * mix is what the generator produces (within sampling error); prompt and demonstration fit the mini model's context.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labelerById } from '../../src/lib/data/labelers';
import { CHARACTER_NAMES } from '../../src/lib/data/lexicon';
import { FAMILY_BY_ID, TASK_FAMILIES, type TaskFamily } from '../../src/lib/data/tasks/families';
import { gradeResponse, madeUpFacts, summariseGrades } from '../../src/lib/data/tasks/grade';
import { generateTasks, mixFrom, TASK_MIX } from '../../src/lib/data/tasks/mix';
import { formatPrompt } from '../../src/lib/data/world';
import { rewardSource, taskGraderReward } from '../../src/lib/stages/rewardKinds';
import type { StageContext } from '../../src/lib/stages/descriptor';
import { decodeCheckpoint } from '../../src/lib/model/checkpoint';

const only = (family: TaskFamily, n: number, seed = 3) => generateTasks(seed, n, mixFrom({ [family]: 1 }));
const grade = (instruction: string, response: string) => gradeResponse(formatPrompt(instruction), response)!;

const STORY = 'Tom went to the park. Tom had a dog. The dog barked. In the end, Tom walked home alone.';
const LONG = Array.from({ length: 12 }, () => 'Tom and the dog played together.').join(' ');

describe('task families', () => {
  it.each(TASK_FAMILIES)('%s: demonstrations read back as their family, graded correct, no made-up fact', (family) => {
    for (const task of only(family, 300)) {
      const g = gradeResponse(task.prompt, task.response);
      expect(g, task.prompt).not.toBeNull();
      expect(g!.family, task.prompt).toBe(family);
      expect(g!.correct, `${task.prompt}${task.response}`).toBe(true);
      expect(g!.madeUp, `${task.prompt}${task.response}`).toEqual([]);
      expect(g!.closedDomain).toBe(FAMILY_BY_ID[family].closedDomain);
    }
  });

  it('closed QA: right place, wrong place, made-up animal, empty, over-long', () => {
    const q = `${STORY} Where was Tom?`;
    expect(grade(q, ' Tom was at the park.')).toMatchObject({ family: 'closed_qa', correct: true, madeUp: [] });
    expect(grade(q, ' Tom was at the beach.')).toMatchObject({ correct: false, madeUp: ['beach'] });
    expect(grade(q, ' Tom was at the park with a cat.')).toMatchObject({ correct: true, madeUp: ['cat'] });
    expect(grade(q, '')).toMatchObject({ correct: false, madeUp: [] });
    expect(grade(`${STORY} Which animals did Tom see?`, ` ${LONG} Mia saw the fox.`)).toMatchObject({
      correct: false,
      madeUp: ['Mia', 'fox'],
    });
  });

  it('extraction: the set of animals, no more and no fewer', () => {
    const q = `${STORY} List the animals in the story.`;
    expect(grade(q, ' The dog.')).toMatchObject({ family: 'extraction', correct: true, madeUp: [] });
    expect(grade(q, ' The dog and the owl.')).toMatchObject({ correct: false, madeUp: ['owl'] });
    expect(grade(q, ' Tom.')).toMatchObject({ correct: false, madeUp: [] });
    expect(grade(q, '')).toMatchObject({ correct: false });
  });

  it('classification: the ending read from the story, one short answer', () => {
    const q = `${STORY} Is the ending happy or sad?`;
    expect(grade(q, ' Sad.')).toMatchObject({ family: 'classification', correct: true });
    expect(grade(q, ' Happy.')).toMatchObject({ correct: false });
    expect(grade(q, '')).toMatchObject({ correct: false });
    expect(grade(q, ` Sad. ${LONG}`)).toMatchObject({ correct: false });
  });

  it('summarisation: one sentence with the main character and the place', () => {
    const q = `In one sentence, what happens in this story: ${STORY}`;
    expect(grade(q, ' Tom was at the park with the dog.')).toMatchObject({ family: 'summarisation', correct: true, madeUp: [] });
    expect(grade(q, ' Tom was at the park with the cat.')).toMatchObject({ correct: true, madeUp: ['cat'] });
    expect(grade(q, ' Mia was at the park.')).toMatchObject({ correct: false, madeUp: ['Mia'] });
    expect(grade(q, ` ${LONG}`)).toMatchObject({ correct: false });
    expect(grade(q, '')).toMatchObject({ correct: false });
  });

  it('rewrite: the ending asked for, the same characters, the story kept', () => {
    const q = `Rewrite this story so that it ends happily: ${STORY}`;
    const happy = ' Tom went to the park. Tom had a dog. The dog barked. It was the best day ever.';
    expect(grade(q, happy)).toMatchObject({ family: 'rewrite', correct: true, madeUp: [] });
    expect(grade(q, ` ${STORY}`)).toMatchObject({ correct: false });
    expect(grade(q, happy.replace('a dog', 'a cat').replace('The dog', 'The cat'))).toMatchObject({ madeUp: ['cat'] });
    expect(grade(q, ' It was the best day ever.')).toMatchObject({ correct: false });
    expect(grade(q, '')).toMatchObject({ correct: false });
  });

  it('brainstorming and generation are open-domain: no made-up facts counted', () => {
    const b = 'Name three animals Tom could take to the beach.';
    expect(grade(b, ' A dog, a cat and an owl.')).toMatchObject({
      family: 'brainstorming',
      correct: true,
      madeUp: [],
      closedDomain: false,
    });
    expect(grade(b, ' A dog and a cat.')).toMatchObject({ correct: false });
    expect(grade(b, '')).toMatchObject({ correct: false });
    const g = 'Write a story about Mia and a fox.';
    expect(grade(g, ' Mia saw a fox. The fox ran into the bushes. Mia smiled.')).toMatchObject({ family: 'generation', correct: true });
    expect(grade(g, ' Tom saw a dog. The dog barked. Tom smiled.')).toMatchObject({ correct: false, madeUp: [] });
    expect(grade(g, '')).toMatchObject({ correct: false });
  });

  it('made-up facts count characters, animals, objects and places, plurals included', () => {
    expect(madeUpFacts(STORY, 'Tom and Mia took the dogs and two cats to the lake with a kite.')).toEqual(['Mia', 'cat', 'kite', 'lake']);
    expect(madeUpFacts(STORY, '')).toEqual([]);
  });

  it('a prompt no family writes is not graded', () => {
    expect(gradeResponse('Once upon a time, Tom went to the park.', ' Tom.')).toBeNull();
  });
});

describe('the task mix', () => {
  it("is the paper's Table 1 over the families the world expresses, renormalised", () => {
    const total = TASK_FAMILIES.reduce((s, f) => s + TASK_MIX[f], 0);
    expect(total).toBeCloseTo(1, 12);
    expect(TASK_MIX.generation / TASK_MIX.brainstorming).toBeCloseTo(45.6 / 11.2, 12);
    expect(TASK_MIX.closed_qa / TASK_MIX.extraction).toBeCloseTo(2.6 / 1.9, 12);
  });

  it('the generator draws each family with its declared share (within 4 standard errors)', () => {
    const n = 4000;
    const counts = Object.fromEntries(TASK_FAMILIES.map((f) => [f, 0]));
    for (const task of generateTasks(11, n)) counts[task.family]++;
    for (const f of TASK_FAMILIES) {
      const p = TASK_MIX[f];
      expect(Math.abs(counts[f] - n * p), f).toBeLessThan(4 * Math.sqrt(n * p * (1 - p)));
    }
    // and a mix set per family: a family left out never appears
    const set = generateTasks(12, 1000, mixFrom({ closed_qa: 1, extraction: 1 }));
    expect(new Set(set.map((t) => t.family))).toEqual(new Set(['closed_qa', 'extraction']));
  });

  it('refuses a mix that cannot be one, with its cause', () => {
    expect(() => mixFrom({})).toThrow(/at least one family/);
    expect(() => mixFrom({ chat: 1 })).toThrow(/Unknown task family "chat"/);
    expect(() => mixFrom({ rewrite: -1 })).toThrow(/rewrite must be a number >= 0/);
    expect(() => mixFrom({ rewrite: NaN })).toThrow(/rewrite must be a number >= 0/);
  });

  it("closed-domain prompts with their demonstrations fit the shipped mini model's 128 tokens", () => {
    const { tokenizer } = decodeCheckpoint(new Uint8Array(readFileSync('public/checkpoints/default.safetensors')));
    for (const family of TASK_FAMILIES.filter((f) => FAMILY_BY_ID[f].closedDomain))
      for (const task of only(family, 200, 5)) expect(tokenizer.encode(task.prompt + task.response).length).toBeLessThanOrEqual(128);
  });

  it('a smaller input budget writes shorter stories, still graded correct; the default budget is unchanged', () => {
    const closed = mixFrom(Object.fromEntries(TASK_FAMILIES.filter((f) => FAMILY_BY_ID[f].closedDomain).map((f) => [f, 1])));
    expect(generateTasks(8, 50, closed, 150)).toEqual(generateTasks(8, 50, closed));
    for (const task of generateTasks(8, 200, closed, 100)) {
      const grade = gradeResponse(task.prompt, task.response)!;
      expect(grade.correct && grade.madeUp.length === 0, task.prompt).toBe(true);
      const story = task.prompt.match(
        /^Instruction: (?:[^:]*: )?(.+?)(?: (?:Is the ending|Where was|Which animals|What things|List the) .*)?\nResponse:$/,
      )![1];
      expect(story.length, task.prompt).toBeLessThanOrEqual(100);
    }
  });

  it('summarises correctness per family and the made-up-fact rate over closed-domain responses', () => {
    const q = formatPrompt(`${STORY} Where was Tom?`);
    const s = summariseGrades([
      { prompt: q, response: ' Tom was at the park.' },
      { prompt: q, response: ' Tom was at the beach.' },
      { prompt: formatPrompt('Write a story about Tom.'), response: ' Tom went to the lake. Tom had a cat. Tom smiled.' },
    ]);
    expect(s.byFamily.closed_qa).toEqual({ correct: 1, total: 2, rate: 0.5 });
    expect(s.byFamily.generation).toEqual({ correct: 1, total: 1, rate: 1 });
    expect(s.byFamily.rewrite.total).toBe(0);
    expect(s.madeUp).toEqual({ count: 1, total: 2, rate: 0.5 });
  });
});

describe('the labeler who dislikes made-up facts', () => {
  const gold = (instruction: string, response: string) => labelerById('no-made-up-facts').gold(formatPrompt(instruction) + response);
  const q = `${STORY} Where was Tom?`;

  it('prefers correct to wrong, and an honest wrong answer to an invented one', () => {
    const correct = gold(q, ' Tom was at the park.');
    const wrongHonest = gold(q, ' Tom was there.');
    const invented = gold(q, ' Tom was at the park with a cat.');
    const wrongInvented = gold(q, ' Tom was at the beach.');
    expect(correct).toBeGreaterThan(wrongHonest);
    expect(wrongHonest).toBeGreaterThan(invented);
    expect(invented).toBeGreaterThan(gold(q, ' Tom was at the beach with a cat.'));
    expect(wrongHonest).toBeGreaterThan(wrongInvented);
  });

  it('ranks demonstrations of every closed-domain family above the same answer with a made-up fact', () => {
    for (const family of TASK_FAMILIES.filter((f) => FAMILY_BY_ID[f].closedDomain)) {
      for (const task of only(family, 20, 9)) {
        const labeler = labelerById('no-made-up-facts');
        const stranger = CHARACTER_NAMES.find((name) => !task.prompt.includes(name))!;
        const invented = task.response.replace(/\.$/, ` with ${stranger}.`);
        expect(labeler.gold(task.prompt + task.response), task.prompt).toBeGreaterThan(labeler.gold(task.prompt + invented));
      }
    }
  });
});

describe("the families' graders as a verifiable reward ('task_grader')", () => {
  const q = formatPrompt(`${STORY} Where was Tom?`);

  it('is 1 for a correct answer with no made-up fact, 0 for a wrong or an invented one, 0 off the task families', () => {
    expect(taskGraderReward(q, ' Tom was at the park.')).toBe(1);
    expect(taskGraderReward(q, ' Tom was at the beach.')).toBe(0);
    expect(taskGraderReward(q, ' Tom was at the park with a cat.')).toBe(0);
    expect(taskGraderReward('Once upon a time.', ' Tom.')).toBe(0);
  });

  it('is what the Reward setting task_grader scores with, no reward model needed', () => {
    const ctx = { stageObject: () => null, stageState: () => 'not-started' } as unknown as StageContext;
    const source = rewardSource(ctx, 'task_grader');
    expect(source.rewardModel).toBeUndefined();
    expect(source.rewardFunction!(q, ' Tom was at the park.')).toBe(1);
  });
});
