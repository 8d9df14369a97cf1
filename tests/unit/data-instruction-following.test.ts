import { describe, expect, it } from 'vitest';
import { instructionFollowing, parseInstruction, summariseFollowing } from '../../src/lib/data/instructionFollowing';
import { labelerById, noiseForAgreement, pairAgreement, rankCompletions } from '../../src/lib/data/labelers';
import { Rng } from '../../src/lib/data/rng';
import { formatPrompt, generateDemonstrations } from '../../src/lib/data/world';

describe('parseInstruction', () => {
  it('reads every kind of constraint that an instruction can name', () => {
    expect(
      parseInstruction(formatPrompt('Please write a long scary story about Lily, Ben, a dog and a kite at the beach with a sad ending.')),
    ).toEqual({
      characters: ['Lily', 'Ben'],
      animals: ['dog'],
      objects: ['kite'],
      place: 'beach',
      mood: 'scared',
      ending: 'sad',
      length: 'long',
    });
    expect(parseInstruction('Can you write a short happy story about an owl on the hill?')).toEqual({
      characters: [],
      animals: ['owl'],
      objects: [],
      place: 'hill',
      mood: 'happy',
      length: 'short',
    });
    expect(parseInstruction(formatPrompt('Write a story.'))).toEqual({ characters: [], animals: [], objects: [] });
  });

  it("does not take a happy ending for a happy mood, nor the opener's words for constraints", () => {
    expect(parseInstruction('I would like a story about Tom with a happy ending.')).toEqual({
      characters: ['Tom'],
      animals: [],
      objects: [],
      ending: 'happy',
    });
  });
});

describe('instructionFollowing', () => {
  const prompt = formatPrompt('Write a short story about Mia and a cat in the forest with a funny ending.');

  it('counts the honoured constraints of a hand-made response', () => {
    const all = instructionFollowing(prompt, ' Mia went to the forest. Mia had a pet cat. The cat purred. Mia laughed at the silly cat.');
    expect(all.total).toBe(5); // Mia, cat, forest, funny ending, short
    expect(all.honoured).toBe(5);
    expect(all.share).toBe(1);
    const some = instructionFollowing(
      prompt,
      ' Tom went to the park. Tom had a pet cat. The cat purred. Tom sat down. Tom ate. Tom slept. In the end, Tom walked home alone.',
    );
    expect(some.constraints.filter((c) => c.honoured).map((c) => c.kind)).toEqual(['animal']);
    expect(some.share).toBeCloseTo(1 / 5, 12);
    expect(instructionFollowing(formatPrompt('Write a story.'), ' Tom went out.').share).toBeNaN();
  });

  it('reads only the response of a prompt + response text', () => {
    const response = ' Tom went to the park. Tom had a pet dog.';
    expect(instructionFollowing(prompt, prompt + response)).toEqual(instructionFollowing(prompt, response));
    // the prompt's own words (Mia, cat, forest) do not count; only "short" (2 sentences) is honoured
    expect(
      instructionFollowing(prompt, prompt + response)
        .constraints.filter((c) => c.honoured)
        .map((c) => c.kind),
    ).toEqual(['length']);
  });

  it('gives the world demonstrations full marks and mismatched responses few', () => {
    const demos = generateDemonstrations(11, 600);
    const matched = summariseFollowing(demos);
    expect(matched.share).toBe(1);
    expect(matched.prompts).toBeGreaterThan(500);
    for (const kind of ['character', 'animal', 'object', 'place', 'mood', 'ending', 'length'] as const)
      expect(matched.byKind[kind].total, kind).toBeGreaterThan(20);
    const mismatched = summariseFollowing(demos.map((d, i) => ({ prompt: d.prompt, response: demos[(i + 1) % demos.length].response })));
    expect(mismatched.share).toBeLessThan(0.3); // measured 0.17 on 2000
    expect(mismatched.total).toBe(matched.total);
    // each pair's own score, in order, adds up to the pooled counts
    expect(mismatched.scores).toHaveLength(demos.length);
    expect(mismatched.scores[3]).toEqual(instructionFollowing(demos[3].prompt, demos[4].response));
    expect(mismatched.scores.reduce((n, s) => n + s.honoured, 0)).toBe(mismatched.honoured);
  });
});

describe("the 'follows-instruction' labeler", () => {
  const labeler = labelerById('follows-instruction');
  const demos = generateDemonstrations(12, 400);

  it('prefers the response that honours more of the instruction', () => {
    const prompt = formatPrompt('Write a story about Zoe and a duck by the lake.');
    const good = ' Zoe went to the lake. Zoe had a pet duck. The duck quacked. It was the best day ever.';
    const half = ' Zoe went to the park. Zoe had a pet dog. The dog barked. It was the best day ever.';
    const none = ' Tom went to the park. Tom had a pet dog. The dog barked. It was the best day ever.';
    expect(labeler.gold(prompt + good)).toBeGreaterThan(labeler.gold(prompt + half));
    expect(labeler.gold(prompt + half)).toBeGreaterThan(labeler.gold(prompt + none));
  });

  it('with noiseForAgreement(0.73) agrees with gold on about 73 % of pairs of prompted responses', () => {
    const rng = new Rng(3);
    const noise = noiseForAgreement(0.73);
    const lists = demos
      .slice(0, 150)
      .map((d) => Array.from({ length: 4 }, (_, k) => d.prompt + (k < 2 ? d.response : rng.pick(demos).response)));
    const rankings = lists.map((completions) => rankCompletions(labeler, completions, { noise, rng }));
    expect(Math.abs(pairAgreement(labeler, lists, rankings) - 0.73)).toBeLessThan(0.07);
  });
});
