/**
 * Does a response do what its instruction asked? An instruction of the small world names some of: the
 * characters, animals and objects the story is about, the place, the mood, the ending and the length
 * (world.ts phraseInstruction). The measure is the share of those named constraints that the response
 * honours, each read back from the response with analyzeText:
 *   character / animal / object: named in the response (plurals count);
 *   place: the place's name appears;   mood: the response's dominant mood (analyzeText's mood) is the one asked;
 *   ending: the ending read from the last two sentences is the one asked;
 *   length: short = at most 4 sentences, long = at least 7 (lexicon SENTENCE_RANGE).
 * An instruction that names nothing ("Write a story.") has no constraints: 0 of 0, left out of aggregates.
 */
import { analyzeText } from './analyze';
import {
  ANIMAL_NAMES,
  CHARACTER_NAMES,
  ENDINGS,
  MOOD_ADJECTIVE,
  MOODS,
  OBJECT_NAMES,
  PLACE_NAMES,
  PLACES,
  SENTENCE_RANGE,
  type Ending,
  type Mood,
} from './lexicon';
import { responseOf } from './world';

export type ConstraintKind = 'character' | 'animal' | 'object' | 'place' | 'mood' | 'ending' | 'length';
export const CONSTRAINT_KINDS: readonly ConstraintKind[] = ['character', 'animal', 'object', 'place', 'mood', 'ending', 'length'];

export interface InstructionRequest {
  characters: string[];
  animals: string[];
  objects: string[];
  place?: string;
  mood?: Mood;
  ending?: Ending;
  length?: 'short' | 'long';
}

export interface Constraint {
  kind: ConstraintKind;
  value: string;
}

export interface FollowingScore {
  honoured: number;
  total: number;
  /** honoured / total; NaN when the instruction names nothing. */
  share: number;
  constraints: (Constraint & { honoured: boolean })[];
}

const RESPONSE_MARKER = '\nResponse:';
const wordRe = (word: string, flags = '') => new RegExp(`\\b${word}\\b`, flags);

/** The instruction text of a formatted prompt ("Instruction: ...\nResponse:"), or the text itself. */
export function instructionOf(text: string): string {
  if (!text.startsWith('Instruction:')) return text;
  const end = text.indexOf(RESPONSE_MARKER);
  return text.slice('Instruction:'.length, end < 0 ? undefined : end).trim();
}

/** What an instruction (formatted prompt or bare instruction) pins down; world.ts phraseInstruction inverted. */
export function parseInstruction(text: string): InstructionRequest {
  const instruction = instructionOf(text);
  const storyAt = instruction.search(/\bstory\b/);
  const before = storyAt < 0 ? '' : instruction.slice(0, storyAt).toLowerCase(); // "Write a short scary "
  const after = storyAt < 0 ? instruction : instruction.slice(storyAt); // "story about Tom and a dog at the park with a sad ending."
  const request: InstructionRequest = {
    characters: CHARACTER_NAMES.filter((n) => wordRe(n).test(after)).sort((a, b) => after.search(wordRe(a)) - after.search(wordRe(b))),
    animals: ANIMAL_NAMES.filter((n) => wordRe(`an? ${n}`).test(after)),
    objects: OBJECT_NAMES.filter((n) => wordRe(`an? ${n}`).test(after)),
  };
  const place = PLACE_NAMES.find((p) => after.includes(PLACES[p].at));
  if (place) request.place = place;
  const ending = ENDINGS.find((e) => after.includes(`with a ${e} ending`));
  if (ending) request.ending = ending;
  const mood = MOODS.find((m) => wordRe(MOOD_ADJECTIVE[m]).test(before));
  if (mood) request.mood = mood;
  if (wordRe('short').test(before)) request.length = 'short';
  else if (wordRe('long').test(before)) request.length = 'long';
  return request;
}

/** The request as a flat list of constraints, in the order CONSTRAINT_KINDS lists their kinds. */
export function constraintsOf(request: InstructionRequest): Constraint[] {
  return [
    ...request.characters.map((value) => ({ kind: 'character' as const, value })),
    ...request.animals.map((value) => ({ kind: 'animal' as const, value })),
    ...request.objects.map((value) => ({ kind: 'object' as const, value })),
    ...(request.place ? [{ kind: 'place' as const, value: request.place }] : []),
    ...(request.mood ? [{ kind: 'mood' as const, value: request.mood }] : []),
    ...(request.ending ? [{ kind: 'ending' as const, value: request.ending }] : []),
    ...(request.length ? [{ kind: 'length' as const, value: request.length }] : []),
  ];
}

/**
 * How many of the instruction's named constraints the response honours. `prompt` is the formatted prompt
 * (or the bare instruction); `response` the response text. A response given as prompt + response also works
 * (pass the whole text as `response`: only the part after "Response:" is read).
 */
export function instructionFollowing(prompt: string, response: string): FollowingScore {
  const f = analyzeText(responseOf(response));
  const constraints = constraintsOf(parseInstruction(prompt)).map((c) => {
    let honoured: boolean;
    if (c.kind === 'character') honoured = f.characters.includes(c.value);
    else if (c.kind === 'animal') honoured = f.animals.includes(c.value);
    else if (c.kind === 'object') honoured = f.objects.includes(c.value);
    else if (c.kind === 'place') honoured = f.places.includes(c.value);
    else if (c.kind === 'mood') honoured = f.mood === c.value;
    else if (c.kind === 'ending') honoured = f.ending === c.value;
    else honoured = c.value === 'short' ? f.sentences <= SENTENCE_RANGE.short[1] : f.sentences >= SENTENCE_RANGE.long[0];
    return { ...c, honoured };
  });
  const honoured = constraints.filter((c) => c.honoured).length;
  return { honoured, total: constraints.length, share: constraints.length ? honoured / constraints.length : NaN, constraints };
}

/**
 * Whether the response names an animal that the instruction asked for (as the animal constraint reads it: plurals
 * count); false for an instruction that asks for no animal. One constraint alone: what a lax verifier checks.
 */
export function namesRequestedAnimal(prompt: string, response: string): boolean {
  const asked = parseInstruction(prompt).animals;
  if (asked.length === 0) return false;
  const named = analyzeText(responseOf(response)).animals;
  return asked.some((animal) => named.includes(animal));
}

/** The score of a formatted prompt + response in one string (what labelers read); 0 of 0 without an instruction. */
export function instructionFollowingOfText(text: string): FollowingScore {
  if (!text.startsWith('Instruction:')) return { honoured: 0, total: 0, share: NaN, constraints: [] };
  return instructionFollowing(text, text);
}

export interface FollowingSummary {
  /** Honoured / named over all prompts (each constraint counts once); NaN when nothing was named. */
  share: number;
  honoured: number;
  total: number;
  /** Prompts that named at least one constraint. */
  prompts: number;
  byKind: Record<ConstraintKind, { honoured: number; total: number }>;
  /** Each pair's own score, in the order given (those that name nothing included, as 0 of 0). */
  scores: FollowingScore[];
}

/** Pools many (prompt, response) scores: the share of all named constraints honoured, and per kind. */
export function summariseFollowing(pairs: { prompt: string; response: string }[]): FollowingSummary {
  const byKind = Object.fromEntries(CONSTRAINT_KINDS.map((k) => [k, { honoured: 0, total: 0 }])) as FollowingSummary['byKind'];
  let honoured = 0;
  let total = 0;
  let prompts = 0;
  const scores = pairs.map(({ prompt, response }) => instructionFollowing(prompt, response));
  for (const s of scores) {
    if (s.total === 0) continue;
    prompts++;
    honoured += s.honoured;
    total += s.total;
    for (const c of s.constraints) {
      byKind[c.kind].total++;
      if (c.honoured) byKind[c.kind].honoured++;
    }
  }
  return { share: total ? honoured / total : NaN, honoured, total, prompts, byKind, scores };
}
