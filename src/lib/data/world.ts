/**
 * Seeded generator of the built-in corpus: short stories about a small world, and instruction/response
 * pairs whose instructions leave most attributes open, so that one prompt has many different good answers.
 */
import {
  ANIMAL_NAMES,
  ANIMALS,
  CHARACTER_NAMES,
  CHARACTERS,
  COLORS,
  ENDING_WORDS,
  ENDINGS,
  MOOD_ADJECTIVE,
  MOOD_WORDS,
  MOODS,
  OBJECT_NAMES,
  OBJECTS,
  PLACE_NAMES,
  PLACES,
  SENTENCE_RANGE,
  lengthOf,
  type Ending,
  type Length,
  type Mood,
} from './lexicon';
import { Rng } from './rng';
import {
  CLOSING,
  ENDING_SENTENCES,
  FILLERS,
  INSTRUCTION_OPENERS,
  INTRO_ANIMAL_AND_OBJECT,
  INTRO_ONE_ANIMAL,
  INTRO_ONE_OBJECT,
  INTRO_TWO_ANIMALS,
  INTRO_TWO_OBJECTS,
  MOOD_SENTENCES,
  OPENINGS,
} from './templates';

export type { Ending, Length, Mood } from './lexicon';

export interface TextAttributes {
  kind: 'story' | 'instruction';
  mood: Mood;
  ending: Ending;
  characters: string[];
  animals: string[];
  place: string;
  objects: string[];
  sentences: number;
  length: Length;
}

export interface WorldText {
  text: string;
  prompt?: string;
  response?: string;
  attributes: TextAttributes;
}

const RESPONSE_MARKER = '\nResponse:';
const MAX_STORY_CHARS = 600;
const MAX_RESPONSE_CHARS = 400;
const PLACEHOLDER = /\{(\w+)\}/g;

/** The exact string the model sees before a response. */
export function formatPrompt(instruction: string): string {
  return `Instruction: ${instruction}${RESPONSE_MARKER}`;
}

/** The response part of a formatted prompt + response; any other text unchanged. */
export function responseOf(text: string): string {
  if (!text.startsWith('Instruction:')) return text;
  const marker = text.indexOf(RESPONSE_MARKER);
  return marker < 0 ? '' : text.slice(marker + RESPONSE_MARKER.length);
}

/** Who and what a story is about, and how it feels and ends. */
interface StoryPlan {
  characters: string[];
  animals: string[];
  objects: string[];
  place: string;
  mood: Mood;
  ending: Ending;
  sentences: number;
}

/** What an instruction pins down; everything else the response chooses freely. */
interface Request {
  characters: string[];
  animals: string[];
  objects: string[];
  place?: string;
  mood?: Mood;
  ending?: Ending;
  length?: 'short' | 'long';
}

export function generateStory(rng: Rng): WorldText {
  const plan = planStory(rng, openRequest());
  const text = writeWithin(plan, rng, MAX_STORY_CHARS);
  return { text, attributes: attributesOf('story', plan, text) };
}

/** A short story (3 or 4 sentences) within `maxChars`, with the ending asked for or any: the input of a task (tasks/). */
export function generateShortStory(rng: Rng, opts: { maxChars: number; ending?: Ending }): WorldText {
  // a tight budget fits some plans and not others (four sentences with two names): draw plans until one fits
  for (let attempt = 0; attempt < 100; attempt++) {
    const plan = planStory(rng, { ...openRequest(), length: 'short', ending: opts.ending });
    const text = tryWriteWithin(plan, rng, opts.maxChars, 10);
    if (text) return { text, attributes: attributesOf('story', plan, text) };
  }
  throw new Error(`Could not write a short story within ${opts.maxChars} characters.`);
}

/** The same story with another ending: its ending sentence (the last but a closing "The end.") written anew. */
export function retellWithEnding(story: WorldText, ending: Ending, rng: Rng): string {
  const plan: StoryPlan = { ...story.attributes, ending };
  const sentences = story.text.split(/(?<=[.!?]"?)\s+/);
  const at = sentences[sentences.length - 1] === CLOSING ? sentences.length - 2 : sentences.length - 1;
  sentences[at] = pickSentence(ENDING_SENTENCES[ending], placeholderValues(plan), rng, new Set());
  return sentences.join(' ');
}

/** text = prompt + response; the response starts with a space. */
export function generateInstructionPair(rng: Rng): WorldText {
  const request = sampleRequest(rng);
  const prompt = formatPrompt(phraseInstruction(request, rng));
  const plan = planStory(rng, request);
  const story = writeWithin(plan, rng, MAX_RESPONSE_CHARS - 1);
  const response = ` ${story}`;
  return { text: prompt + response, prompt, response, attributes: attributesOf('instruction', plan, story) };
}

export function generateCorpus(opts: { seed: number; documents: number; instructionShare?: number }): WorldText[] {
  const rng = new Rng(opts.seed);
  const share = opts.instructionShare ?? 0.25;
  return Array.from({ length: opts.documents }, () => (rng.next() < share ? generateInstructionPair(rng) : generateStory(rng)));
}

/** Formatted prompts for PPO rollouts and ranking. */
export function generatePrompts(seed: number, n: number): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => formatPrompt(phraseInstruction(sampleRequest(rng), rng)));
}

/** Prompt -> demonstration pairs for SFT. */
export function generateDemonstrations(seed: number, n: number): { prompt: string; response: string }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const pair = generateInstructionPair(rng);
    return { prompt: pair.prompt!, response: pair.response! };
  });
}

/** Every word the generator can write, lower case: the yardstick for "known words" in analyzeText. */
export const WORLD_VOCABULARY: ReadonlySet<string> = collectVocabulary();

// ---- requests and instructions ----

function openRequest(): Request {
  return { characters: [], animals: [], objects: [] };
}

function sampleRequest(rng: Rng): Request {
  const who = rng.next();
  const request: Request = {
    characters: who < 0.55 ? pickDistinct(rng, CHARACTER_NAMES, 1) : who < 0.7 ? pickDistinct(rng, CHARACTER_NAMES, 2) : [],
    animals: rng.next() < 0.3 ? [rng.pick(ANIMAL_NAMES)] : [],
    objects: rng.next() < 0.2 ? [rng.pick(OBJECT_NAMES)] : [],
  };
  if (rng.next() < 0.25) request.place = rng.pick(PLACE_NAMES);
  if (rng.next() < 0.2) request.mood = rng.pick(MOODS);
  if (rng.next() < 0.2) request.ending = rng.pick(ENDINGS);
  if (rng.next() < 0.2) request.length = rng.next() < 0.5 ? 'short' : 'long';
  // A short story has room to introduce only one animal and one object, in one sentence.
  if (request.length === 'short' && request.animals.length > 0) request.objects = [];
  return request;
}

function phraseInstruction(request: Request, rng: Rng): string {
  const opener = rng.pick(INSTRUCTION_OPENERS);
  const adjectives = [request.length, request.mood && MOOD_ADJECTIVE[request.mood]].filter(Boolean);
  const subjects = [...request.characters, ...request.animals.map((a) => `a ${a}`), ...request.objects.map((o) => `a ${o}`)];
  const parts = [opener, ...adjectives, 'story'];
  if (subjects.length > 0) parts.push('about', joinList(subjects));
  if (request.place) parts.push(PLACES[request.place].at);
  if (request.ending) parts.push(`with a ${request.ending} ending`);
  return fixArticles(parts.join(' ') + (opener.startsWith('Can') ? '?' : '.'));
}

// ---- plans ----

function planStory(rng: Rng, request: Request): StoryPlan {
  const length = request.length ?? pickLength(rng);
  const isShort = length === 'short';
  const characters = [...request.characters];
  if (characters.length === 0 || (characters.length === 1 && rng.next() < 0.25)) {
    const wanted = characters.length === 0 && rng.next() < 0.3 ? 2 : 1;
    characters.push(...pickDistinct(rng, CHARACTER_NAMES, wanted, characters));
  }
  const animals = withExtras(rng, request.animals, ANIMAL_NAMES, isShort ? 1 : 2, [0.35, 0.45, 0.2]);
  const objects = withExtras(rng, request.objects, OBJECT_NAMES, isShort ? 1 : 2, [0.4, 0.45, 0.15]);
  const [low, high] = SENTENCE_RANGE[length];
  const sentences = Math.max(low + rng.int(high - low + 1), 3 + introCount(animals, objects, isShort));
  return {
    characters,
    animals,
    objects,
    place: request.place ?? rng.pick(PLACE_NAMES),
    mood: request.mood ?? rng.pick(MOODS),
    ending: request.ending ?? rng.pick(ENDINGS),
    sentences,
  };
}

function pickLength(rng: Rng): Length {
  const r = rng.next();
  return r < 0.3 ? 'short' : r < 0.7 ? 'medium' : 'long';
}

/** The requested items, topped up to a random count (weights per count 0, 1, 2) of at most `max`. */
function withExtras(rng: Rng, requested: string[], pool: string[], max: number, weights: number[]): string[] {
  let wanted = 0;
  for (let r = rng.next(); wanted < weights.length - 1 && r >= weights[wanted]; wanted++) r -= weights[wanted];
  wanted = Math.min(Math.max(wanted, requested.length), max);
  return [...requested, ...pickDistinct(rng, pool, wanted - requested.length, requested)];
}

function introCount(animals: string[], objects: string[], isShort: boolean): number {
  if (isShort && animals.length + objects.length > 0) return 1;
  return (animals.length > 0 ? 1 : 0) + (objects.length > 0 ? 1 : 0);
}

// ---- writing ----

/** Rewrites the story until it fits `maxChars`; the plan (and so the attributes) stays the same. */
function writeWithin(plan: StoryPlan, rng: Rng, maxChars: number): string {
  // The longest plans fit on almost every draw; failing 100 draws means the templates grew too long.
  const text = tryWriteWithin(plan, rng, maxChars, 100);
  if (text === null) throw new Error(`Could not write a story of ${plan.sentences} sentences within ${maxChars} characters.`);
  return text;
}

function tryWriteWithin(plan: StoryPlan, rng: Rng, maxChars: number, attempts: number): string | null {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const text = writeStory(plan, rng).join(' ');
    if (text.length <= maxChars) return text;
  }
  return null;
}

function writeStory(plan: StoryPlan, rng: Rng): string[] {
  const values = placeholderValues(plan);
  const used = new Set<string>();
  const say = (templates: readonly string[]) => pickSentence(templates, values, rng, used);
  const opening = say(OPENINGS);
  const intros = introSentences(plan, say, rng);
  const hasClosing = rng.next() < 0.1 && plan.sentences - intros.length >= 4;
  const middle = plan.sentences - 2 - intros.length - (hasClosing ? 1 : 0);
  const moodCount = 1 + (middle >= 3 ? rng.int(2) : 0) + (middle >= 5 ? rng.int(2) : 0);
  const body = [
    ...Array.from({ length: moodCount }, () => say(MOOD_SENTENCES[plan.mood])),
    ...Array.from({ length: middle - moodCount }, () => say(FILLERS)),
  ];
  const ending = say(ENDING_SENTENCES[plan.ending]);
  return [opening, ...intros, ...rng.shuffle(body), ending, ...(hasClosing ? [CLOSING] : [])];
}

function introSentences(plan: StoryPlan, say: (templates: readonly string[]) => string, rng: Rng): string[] {
  const { animals, objects } = plan;
  const combine = animals.length === 1 && objects.length === 1 && (plan.sentences <= SENTENCE_RANGE.short[1] || rng.next() < 0.3);
  if (combine) return [say(INTRO_ANIMAL_AND_OBJECT)];
  const intros: string[] = [];
  if (animals.length > 0) intros.push(say(animals.length === 1 ? INTRO_ONE_ANIMAL : INTRO_TWO_ANIMALS));
  if (objects.length > 0) intros.push(say(objects.length === 1 ? INTRO_ONE_OBJECT : INTRO_TWO_OBJECTS));
  return intros;
}

type Values = Record<string, string | undefined>;

function placeholderValues(plan: StoryPlan): Values {
  const [name, name2] = plan.characters;
  const he = CHARACTERS[name];
  const his = he === 'he' ? 'his' : 'her';
  const [animal, animal2] = plan.animals;
  const [object, object2] = plan.objects;
  return {
    Name: name,
    Name2: name2,
    Group: plan.characters.join(' and '),
    was: plan.characters.length > 1 ? 'were' : 'was',
    He: capitalize(he),
    he,
    his,
    His: capitalize(his),
    him: he === 'he' ? 'him' : 'her',
    animal,
    animal2,
    animalAct: animal && ANIMALS[animal],
    animalAct2: animal2 && ANIMALS[animal2],
    object,
    object2,
    objAct: object && OBJECTS[object],
    objAct2: object2 && OBJECTS[object2],
    place: plan.place,
    at_place: PLACES[plan.place].at,
    placeDetail: PLACES[plan.place].detail,
  };
}

/** A random template of the slot that this story can fill and has not used yet, filled in. */
function pickSentence(templates: readonly string[], values: Values, rng: Rng, used: Set<string>): string {
  const usable = templates.filter((t) => !used.has(t) && canFill(t, values));
  if (usable.length === 0) throw new Error(`No usable template left among: ${templates[0]} ...`);
  const template = rng.pick(usable);
  used.add(template);
  return fixArticles(template.replace(PLACEHOLDER, (_, key: string) => (key === 'color' ? rng.pick(COLORS) : values[key]!)));
}

function canFill(template: string, values: Values): boolean {
  for (const [, key] of template.matchAll(PLACEHOLDER)) if (key !== 'color' && values[key] === undefined) return false;
  return true;
}

function attributesOf(kind: TextAttributes['kind'], plan: StoryPlan, story: string): TextAttributes {
  const { characters, animals, objects, place, mood, ending } = plan;
  const sentences = countSentences(story);
  return { kind, mood, ending, characters, animals, place, objects, sentences, length: lengthOf(sentences) };
}

function countSentences(text: string): number {
  return text.split(/(?<=[.!?]"?)\s+/).filter((s) => s.trim() !== '').length;
}

// ---- small helpers ----

function pickDistinct(rng: Rng, pool: readonly string[], n: number, exclude: readonly string[] = []): string[] {
  return rng.shuffle(pool.filter((item) => !exclude.includes(item))).slice(0, Math.max(0, n));
}

function joinList(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function fixArticles(text: string): string {
  return text.replace(/\b([Aa]) (?=[aeiou])/g, '$1n ');
}

function collectVocabulary(): Set<string> {
  const sources = [
    OPENINGS,
    INTRO_ONE_ANIMAL,
    INTRO_TWO_ANIMALS,
    INTRO_ONE_OBJECT,
    INTRO_TWO_OBJECTS,
    INTRO_ANIMAL_AND_OBJECT,
    FILLERS,
    [CLOSING],
    INSTRUCTION_OPENERS,
    ...Object.values(MOOD_SENTENCES),
    ...Object.values(ENDING_SENTENCES),
    CHARACTER_NAMES,
    ANIMAL_NAMES,
    Object.values(ANIMALS),
    OBJECT_NAMES,
    Object.values(OBJECTS),
    PLACE_NAMES,
    Object.values(PLACES).flatMap((p) => [p.at, p.detail]),
    COLORS,
    ...Object.values(MOOD_WORDS),
    ...Object.values(ENDING_WORDS),
    Object.values(MOOD_ADJECTIVE),
    ENDINGS,
    ['instruction response story about with ending short long an he she his her him were was'],
  ];
  const words = new Set<string>();
  for (const text of sources.flat()) {
    for (const word of text
      .replace(PLACEHOLDER, ' ')
      .toLowerCase()
      .match(/\p{L}+/gu) ?? [])
      words.add(word);
  }
  return words;
}
