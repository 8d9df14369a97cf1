import { describe, expect, it } from 'vitest';
import { LABELERS, labelerById, noiseForAgreement, pairAgreement, rankCompletions } from '../../src/lib/data/labelers';
import { normalQuantile } from '../../src/lib/data/normal';
import { Rng } from '../../src/lib/data/rng';
import { formatPrompt, generateDemonstrations } from '../../src/lib/data/world';

const responses = generateDemonstrations(99, 1500).map((d) => d.response);
const gold = (id: string, text: string) => labelerById(id).gold(text);

describe('labelers', () => {
  it('include the four scripted preferences', () => {
    expect(LABELERS.map((l) => l.id)).toEqual(expect.arrayContaining(['happy-endings', 'short-answers', 'dog-lover', 'no-repetition']));
    for (const labeler of LABELERS) expect(labeler.name && labeler.description).toBeTruthy();
    expect(() => labelerById('cat-lover')).toThrow(/Unknown labeler "cat-lover"/);
  });

  it('prefer what they should', () => {
    const opening = ' Tom went to the park. Tom saw a cat. Tom felt calm.';
    expect(gold('happy-endings', `${opening} It was the best day ever.`)).toBeGreaterThan(
      gold('happy-endings', `${opening} In the end, Tom walked home alone.`),
    );
    expect(gold('short-answers', ' Tom went to the park. Tom felt calm. It was the best day ever.')).toBeGreaterThan(
      gold('short-answers', `${opening} Tom sat down on a rock. The sun was warm and bright. It was the best day ever.`),
    );
    expect(gold('short-answers', ' Tom went to the park. It was the best day ever.')).toBeGreaterThan(gold('short-answers', ''));
    expect(gold('dog-lover', `${opening.replace('cat', 'dog')} It was the best day ever.`)).toBeGreaterThan(
      gold('dog-lover', `${opening} It was the best day ever.`),
    );
    expect(gold('no-repetition', `${opening} It was the best day ever.`)).toBeGreaterThan(
      gold('no-repetition', `${opening}${opening} It was the best day ever.`),
    );
  });

  it('read the response of a formatted prompt only', () => {
    const response = ' Tom went to the park. Tom saw a cat. It was the best day ever.';
    expect(gold('dog-lover', formatPrompt('Write a story about a dog.') + response)).toBe(gold('dog-lover', response));
  });

  it('give graded scores that rank world responses with few ties', () => {
    for (const labeler of LABELERS) {
      const golds = responses.slice(0, 500).map((r) => labeler.gold(r));
      expect(golds.every(Number.isFinite)).toBe(true);
      expect(new Set(golds).size, labeler.id).toBeGreaterThan(100);
    }
  });
});

describe('rankCompletions', () => {
  it('with noise 0 gives the gold order exactly', () => {
    const rng = new Rng(1);
    for (const labeler of LABELERS) {
      for (let i = 0; i < 30; i++) {
        const completions = Array.from({ length: 6 }, () => rng.pick(responses));
        const ranking = rankCompletions(labeler, completions, { noise: 0, rng });
        expect([...ranking].sort()).toEqual([0, 1, 2, 3, 4, 5]);
        const golds = ranking.map((index) => labeler.gold(completions[index]));
        expect(golds).toEqual([...golds].sort((a, b) => b - a));
        expect(pairAgreement(labeler, [completions], [ranking])).toBe(1);
      }
    }
  });

  it('is seeded', () => {
    const labeler = labelerById('happy-endings');
    const completions = responses.slice(0, 8);
    const rank = (seed: number) => rankCompletions(labeler, completions, { noise: 1, rng: new Rng(seed) });
    expect(rank(5)).toEqual(rank(5));
  });

  it('with noiseForAgreement(0.73) agrees with gold on 73% of pairs (±0.05)', () => {
    const noise = noiseForAgreement(0.73);
    const rng = new Rng(2);
    for (const labeler of LABELERS) {
      const lists = Array.from({ length: 150 }, () => Array.from({ length: 4 }, () => rng.pick(responses)));
      const rankings = lists.map((completions) => rankCompletions(labeler, completions, { noise, rng }));
      expect(Math.abs(pairAgreement(labeler, lists, rankings) - 0.73), labeler.id).toBeLessThan(0.05);
    }
  });

  it('rejects negative noise', () => {
    expect(() => rankCompletions(LABELERS[0], responses.slice(0, 3), { noise: -1, rng: new Rng(1) })).toThrow(/noise/);
  });
});

describe('noiseForAgreement', () => {
  it('maps agreement to noise under the Thurstone model', () => {
    expect(noiseForAgreement(1)).toBe(0);
    expect(noiseForAgreement(0.75)).toBeCloseTo(1, 10);
    expect(noiseForAgreement(0.73)).toBeCloseTo(Math.tan(0.27 * Math.PI), 10);
    expect(noiseForAgreement(0.6)).toBeGreaterThan(noiseForAgreement(0.73));
    expect(() => noiseForAgreement(0.5)).toThrow(/\(0.5, 1\]/);
    expect(() => noiseForAgreement(1.1)).toThrow();
  });

  it('matches a direct simulation with Gaussian scores', () => {
    const rng = new Rng(3);
    const noise = noiseForAgreement(0.8);
    let agree = 0;
    const trials = 40_000;
    for (let i = 0; i < trials; i++) {
      const [a, b] = [rng.normal(), rng.normal()];
      const [na, nb] = [a + noise * rng.normal(), b + noise * rng.normal()];
      if (na > nb === a > b) agree++;
    }
    expect(agree / trials).toBeCloseTo(0.8, 2);
  });
});

describe('pairAgreement', () => {
  it('counts reversed pairs and skips pairs with equal gold', () => {
    const labeler = labelerById('short-answers');
    const completions = [' Tom ran home.', ' Tom ran to the park with Mia.', ' Tom ran home.'];
    expect(pairAgreement(labeler, [completions], [[1, 0, 2]])).toBe(0);
    expect(pairAgreement(labeler, [completions], [[0, 2, 1]])).toBe(1);
    expect(pairAgreement(labeler, [[completions[0], completions[2]]], [[1, 0]])).toBeNaN();
    expect(() => pairAgreement(labeler, [completions], [[0, 0, 1]])).toThrow(/not a permutation/);
  });
});

describe('normalQuantile', () => {
  it('inverts the standard normal CDF', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(() => normalQuantile(0)).toThrow(RangeError);
  });
});
