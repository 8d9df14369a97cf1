import { describe, expect, it } from 'vitest';
import { analyzeText } from '../../src/lib/data/analyze';
import { Rng } from '../../src/lib/data/rng';
import {
  WORLD_VOCABULARY,
  formatPrompt,
  generateCorpus,
  generateDemonstrations,
  generateInstructionPair,
  generatePrompts,
  generateStory,
  responseOf,
  type WorldText,
} from '../../src/lib/data/world';

const sorted = (items: string[]) => [...items].sort();

describe('world generator', () => {
  it('is deterministic by seed', () => {
    const texts = (seed: number) => generateCorpus({ seed, documents: 50 }).map((d) => d.text);
    expect(texts(7)).toEqual(texts(7));
    expect(texts(8)).not.toEqual(texts(7));
    expect(generatePrompts(3, 20)).toEqual(generatePrompts(3, 20));
    expect(generateDemonstrations(3, 20)).toEqual(generateDemonstrations(3, 20));
    expect(generateDemonstrations(4, 20)).not.toEqual(generateDemonstrations(3, 20));
  });

  it('mixes stories and instruction pairs by the requested share', () => {
    const docs = generateCorpus({ seed: 1, documents: 2000, instructionShare: 0.3 });
    const share = docs.filter((d) => d.attributes.kind === 'instruction').length / docs.length;
    expect(share).toBeGreaterThan(0.26);
    expect(share).toBeLessThan(0.34);
    expect(generateCorpus({ seed: 1, documents: 100, instructionShare: 0 }).every((d) => d.attributes.kind === 'story')).toBe(true);
  });

  it('formats instruction pairs as prompt + response', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 100; i++) {
      const pair = generateInstructionPair(rng);
      expect(pair.prompt).toMatch(/^Instruction: .+[.?]\nResponse:$/);
      expect(pair.response).toMatch(/^ \S/);
      expect(pair.text).toBe(pair.prompt! + pair.response!);
      expect(responseOf(pair.text)).toBe(pair.response);
    }
    expect(formatPrompt('Write a story.')).toBe('Instruction: Write a story.\nResponse:');
    for (const prompt of generatePrompts(9, 50)) expect(prompt).toMatch(/^Instruction: .+\nResponse:$/);
  });

  it('keeps texts short enough for a small context', () => {
    for (const doc of generateCorpus({ seed: 3, documents: 3000 })) {
      expect(doc.text.length).toBeLessThanOrEqual(600);
      if (doc.response !== undefined) expect(doc.response.length).toBeLessThanOrEqual(400);
    }
  });

  it('keeps the vocabulary modest', () => {
    expect(WORLD_VOCABULARY.size).toBeGreaterThan(150);
    expect(WORLD_VOCABULARY.size).toBeLessThan(600);
    const words = new Set(generateCorpus({ seed: 4, documents: 3000 }).flatMap((d) => d.text.toLowerCase().match(/\p{L}+/gu)!));
    expect([...words].filter((w) => !WORLD_VOCABULARY.has(w))).toEqual([]);
  });

  it('writes texts whose attributes analyzeText reads back', () => {
    const rng = new Rng(11);
    const texts: WorldText[] = [];
    for (let i = 0; i < 200; i++) texts.push(generateStory(rng), generateInstructionPair(rng));
    for (const { text, attributes } of texts) {
      const features = analyzeText(text);
      expect({ text, mood: features.mood, ending: features.ending }).toEqual({ text, mood: attributes.mood, ending: attributes.ending });
      expect(sorted(features.characters)).toEqual(sorted(attributes.characters));
      expect(sorted(features.animals)).toEqual(sorted(attributes.animals));
      expect(sorted(features.objects)).toEqual(sorted(attributes.objects));
      expect(features.places).toEqual([attributes.place]);
      expect(features.sentences).toBe(attributes.sentences);
      expect(features.wellFormed).toBe(true);
      expect(features.knownWordShare).toBe(1);
    }
  });

  it('covers every mood, ending, length, and many characters, animals, places and objects', () => {
    const attributes = generateCorpus({ seed: 12, documents: 1000 }).map((d) => d.attributes);
    const distinct = (values: string[]) => new Set(values).size;
    expect(distinct(attributes.map((a) => a.mood))).toBe(5);
    expect(distinct(attributes.map((a) => a.ending))).toBe(4);
    expect(distinct(attributes.map((a) => a.length))).toBe(3);
    expect(distinct(attributes.flatMap((a) => a.characters))).toBe(10);
    expect(distinct(attributes.flatMap((a) => a.animals))).toBe(8);
    expect(distinct(attributes.map((a) => a.place))).toBe(7);
    expect(distinct(attributes.flatMap((a) => a.objects))).toBe(8);
  });

  it('gives one prompt many really different responses', () => {
    const byPrompt = new Map<string, WorldText[]>();
    const rng = new Rng(13);
    for (let i = 0; i < 4000; i++) {
      const pair = generateInstructionPair(rng);
      byPrompt.set(pair.prompt!, [...(byPrompt.get(pair.prompt!) ?? []), pair]);
    }
    const [prompt, responses] = [...byPrompt].sort((a, b) => b[1].length - a[1].length)[0];
    expect(responses.length).toBeGreaterThanOrEqual(20);
    const distinct = (pick: (w: WorldText) => string) => new Set(responses.map(pick)).size;
    expect(
      distinct((w) => w.response!),
      prompt,
    ).toBe(responses.length);
    expect(distinct((w) => w.attributes.mood)).toBeGreaterThanOrEqual(4);
    expect(distinct((w) => w.attributes.ending)).toBeGreaterThanOrEqual(3);
    expect(distinct((w) => w.attributes.length)).toBe(3);
    expect(distinct((w) => w.attributes.characters.join())).toBeGreaterThanOrEqual(5);
    expect(distinct((w) => w.attributes.animals.join())).toBeGreaterThanOrEqual(4);
  });

  it('keeps what an instruction asks for', () => {
    const rng = new Rng(14);
    for (let i = 0; i < 300; i++) {
      const { prompt, attributes } = generateInstructionPair(rng);
      const ending = prompt!.match(/with an? (\w+) ending/)?.[1];
      if (ending) expect(attributes.ending).toBe(ending);
      if (/ short /.test(prompt!)) expect(attributes.length).toBe('short');
      if (/ long /.test(prompt!)) expect(attributes.length).toBe('long');
      if (/ scary /.test(prompt!)) expect(attributes.mood).toBe('scared');
      for (const name of prompt!.match(/\b(Mia|Tom|Lily|Ben|Sam|Anna|Max|Zoe|Leo|Ella)\b/g) ?? []) {
        expect(attributes.characters).toContain(name);
      }
    }
  });
});

describe('analyzeText', () => {
  it('reads an imperfect text without throwing', () => {
    const features = analyzeText('tom ran ran to the the park and and the dogs barked barked');
    expect(features.wellFormed).toBe(false);
    expect(features.characters).toEqual(['Tom']);
    expect(features.animals).toEqual(['dog']);
    expect(features.places).toEqual(['park']);
    expect(features.mood).toBeNull();
    expect(features.ending).toBeNull();
    expect(analyzeText('').words).toBe(0);
    expect(analyzeText('').wellFormed).toBe(false);
  });

  it('scores repetition', () => {
    const once = 'Tom went to the park. Mia saw a dog.';
    expect(analyzeText(once).repetition).toBe(0);
    expect(analyzeText(`${once} ${once} ${once}`).repetition).toBeGreaterThan(0.5);
    expect(analyzeText('Tom felt sad. Tom felt sad.').repetition).toBeGreaterThan(0.3);
  });

  it('finds the ending in the last sentences and the mood by its words', () => {
    const happy = analyzeText(
      'Mia went to the lake. Mia felt sad. Mia began to cry. In the end, Mia went home, and it was a wonderful day.',
    );
    expect(happy.mood).toBe('sad');
    expect(happy.ending).toBe('happy');
    expect(analyzeText('The dog ran away and never came back. Tom walked on.').ending).toBe('sad');
    expect(analyzeText('The dog ran away and never came back. Tom sat. Tom ran. Tom sat down.').ending).toBeNull();
  });

  it('reads only the response of a formatted prompt', () => {
    const text = `${formatPrompt('Write a sad story about a cat.')} Tom felt happy. Tom saw a dog. It was the best day ever.`;
    const features = analyzeText(text);
    expect(features.mood).toBe('happy');
    expect(features.animals).toEqual(['dog']);
    expect(features.sentences).toBe(3);
  });
});
