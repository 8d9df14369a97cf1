/**
 * Reads the world's attributes back from any text, a model's imperfect output included. Given a formatted
 * prompt + response, only the response is read. Moods and endings are found by the words that only their
 * sentences use (lexicon.ts); an ending is looked for in the last two sentences only.
 */
import {
  ANIMAL_NAMES,
  CHARACTER_NAMES,
  ENDING_WORDS,
  ENDINGS,
  MOOD_WORDS,
  MOODS,
  OBJECT_NAMES,
  PLACE_NAMES,
  type Ending,
  type Mood,
} from './lexicon';
import { responseOf, WORLD_VOCABULARY } from './world';

export interface TextFeatures {
  mood: Mood | null; // the mood with the most mood words; null when none or a tie
  moodCounts: Record<Mood, number>;
  ending: Ending | null;
  characters: string[]; // each list in order of first mention
  animals: string[];
  places: string[];
  objects: string[];
  /** How often each character, animal, place and object is named (plurals count). */
  mentions: Record<string, number>;
  sentences: number;
  words: number;
  /** 0..1: the larger of the share of repeated word 3-grams and the share of repeated sentences. */
  repetition: number;
  /** Distinct words / words. */
  distinctWordShare: number;
  /** Share of words that the world's generator uses. */
  knownWordShare: number;
  /** Sentences start with a capital and end with . ! or ?, quotes balance, no word doubled, none overlong. */
  wellFormed: boolean;
}

const WORD = /[\p{L}\p{N}]+(?:'\p{L}+)?/gu;
const SENTENCE_END = /(?<=[.!?]"?)\s+/;
const MAX_SENTENCE_WORDS = 30;

const ENTITY_KIND = new Map<string, { kind: 'characters' | 'animals' | 'places' | 'objects'; name: string }>([
  ...CHARACTER_NAMES.map((name) => [name.toLowerCase(), { kind: 'characters' as const, name }] as const),
  ...ANIMAL_NAMES.map((name) => [name, { kind: 'animals' as const, name }] as const),
  ...PLACE_NAMES.map((name) => [name, { kind: 'places' as const, name }] as const),
  ...OBJECT_NAMES.map((name) => [name, { kind: 'objects' as const, name }] as const),
]);

const MOOD_OF_WORD = new Map(MOODS.flatMap((mood) => MOOD_WORDS[mood].map((word) => [word, mood] as const)));
const ENDING_PATTERNS = ENDINGS.map((ending) => ({
  ending,
  pattern: new RegExp(`\\b(?:${ENDING_WORDS[ending].join('|')})\\b`, 'g'),
}));

export function analyzeText(text: string): TextFeatures {
  const body = responseOf(text).trim();
  const sentences = splitSentences(body);
  const words = (body.match(WORD) ?? []).map(normaliseWord);
  const entities = findEntities(words);
  const moodCounts = countMoods(words);
  return {
    mood: uniqueArgmax(moodCounts),
    moodCounts,
    ending: detectEnding(sentences),
    ...entities,
    sentences: sentences.length,
    words: words.length,
    repetition: Math.max(repeatedShare(trigrams(words)), repeatedShare(sentences.map((s) => s.toLowerCase()))),
    distinctWordShare: words.length === 0 ? 0 : new Set(words).size / words.length,
    knownWordShare: words.length === 0 ? 0 : words.filter((w) => WORLD_VOCABULARY.has(w)).length / words.length,
    wellFormed: isWellFormed(body, sentences, words),
  };
}

export function splitSentences(text: string): string[] {
  return text
    .split(SENTENCE_END)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Lower case, possessive dropped: "Mia's" -> "mia". */
function normaliseWord(word: string): string {
  return word.toLowerCase().replace(/'s$/, '');
}

function findEntities(words: string[]): Pick<TextFeatures, 'characters' | 'animals' | 'places' | 'objects' | 'mentions'> {
  const found = { characters: [] as string[], animals: [] as string[], places: [] as string[], objects: [] as string[] };
  const mentions: Record<string, number> = {};
  for (const word of words) {
    const entity = ENTITY_KIND.get(word) ?? (word.endsWith('s') ? ENTITY_KIND.get(word.slice(0, -1)) : undefined);
    if (!entity) continue;
    if (!(entity.name in mentions)) found[entity.kind].push(entity.name);
    mentions[entity.name] = (mentions[entity.name] ?? 0) + 1;
  }
  return { ...found, mentions };
}

function countMoods(words: string[]): Record<Mood, number> {
  const counts = Object.fromEntries(MOODS.map((mood) => [mood, 0])) as Record<Mood, number>;
  for (const word of words) {
    const mood = MOOD_OF_WORD.get(word);
    if (mood) counts[mood]++;
  }
  return counts;
}

/** The ending whose words the last two sentences use most; on a tie, the one used last. */
function detectEnding(sentences: string[]): Ending | null {
  const tail = sentences.slice(-2).join(' ').toLowerCase();
  let best: Ending | null = null;
  let bestCount = 0;
  let bestPosition = -1;
  for (const { ending, pattern } of ENDING_PATTERNS) {
    const positions = [...tail.matchAll(pattern)].map((m) => m.index);
    const last = positions.length > 0 ? positions[positions.length - 1] : -1;
    if (positions.length > bestCount || (positions.length === bestCount && positions.length > 0 && last > bestPosition)) {
      best = ending;
      bestCount = positions.length;
      bestPosition = last;
    }
  }
  return best;
}

function uniqueArgmax<K extends string>(counts: Record<K, number>): K | null {
  const entries = Object.entries(counts) as [K, number][];
  const top = Math.max(...entries.map(([, n]) => n));
  const winners = entries.filter(([, n]) => n === top);
  return top > 0 && winners.length === 1 ? winners[0][0] : null;
}

function trigrams(words: string[]): string[] {
  return words.slice(2).map((word, i) => `${words[i]} ${words[i + 1]} ${word}`);
}

/** Share of items that repeat an earlier item. */
function repeatedShare(items: string[]): number {
  return items.length === 0 ? 0 : (items.length - new Set(items).size) / items.length;
}

function isWellFormed(body: string, sentences: string[], words: string[]): boolean {
  if (words.length < 3) return false;
  const quotesBalance = (body.match(/"/g) ?? []).length % 2 === 0;
  return quotesBalance && sentences.every(isWellFormedSentence);
}

function isWellFormedSentence(sentence: string): boolean {
  const words = (sentence.match(WORD) ?? []).map(normaliseWord);
  const doubledWord = words.some((word, i) => i > 0 && word === words[i - 1]);
  return /^"?\p{Lu}/u.test(sentence) && /[.!?]"?$/.test(sentence) && words.length <= MAX_SENTENCE_WORDS && !doubledWord;
}
