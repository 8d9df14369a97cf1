/**
 * The task families of the small world (InstructGPT's Table 1 in miniature): each a data record that writes a prompt
 * and its demonstration, reads its own prompts back, and says whether a response is correct. The grader is the
 * truth; the model never sees it. Closed-domain families answer from a short story in the prompt, so a response can
 * be checked for made-up facts (grade.ts). Stories stay short (STORY_CHARS) to fit the mini model's 128 tokens.
 */
import { analyzeText, splitSentences, type TextFeatures } from '../analyze';
import { instructionFollowing, instructionOf } from '../instructionFollowing';
import { ANIMAL_NAMES, CHARACTER_NAMES, OBJECT_NAMES, PLACE_NAMES, PLACES, type Ending } from '../lexicon';
import type { Rng } from '../rng';
import { generateInstructionPair, generateShortStory, retellWithEnding, type WorldText } from '../world';

export const TASK_FAMILIES = [
  'generation',
  'brainstorming',
  'rewrite',
  'summarisation',
  'classification',
  'closed_qa',
  'extraction',
] as const;
export type TaskFamily = (typeof TASK_FAMILIES)[number];

/** What a prompt of a family asks: its input story (closed-domain families) and the details of the question. */
export interface TaskReading {
  family: TaskFamily;
  story?: string;
  /** The entity kind asked about (brainstorming, closed QA, extraction), or the ending asked for (rewrite). */
  subject?: string;
  /** Whom the question is about (closed QA, brainstorming). */
  name?: string;
  /** How many items a brainstorm asks for. */
  count?: number;
}

export interface FamilySpec {
  id: TaskFamily;
  title: string;
  /** The answer must come from the input: made-up facts are counted. */
  closedDomain: boolean;
  /** The family's share of the API prompts in the paper's Table 1, in %. */
  paperShare: number;
  /** A prompt and its demonstration; input stories of at most `storyChars` characters (default STORY_CHARS). */
  make(rng: Rng, storyChars?: number): { instruction: string; response: string };
  /** This family's reading of an instruction, or null when the instruction is not of this family. */
  read(instruction: string): TaskReading | null;
  /** Is `response` a correct answer to `instruction`, whose reading is `reading`? */
  correct(reading: TaskReading, response: string, instruction: string): boolean;
}

/** Input stories: at most this many characters, so that prompt and answer fit the mini model's 128 tokens. */
export const STORY_CHARS = 150;
/** A story to rewrite is shorter (at most this, within the input budget): the response retells it whole. */
const REWRITE_STORY_CHARS = 105;

type EntityKind = 'characters' | 'animals' | 'objects' | 'places';
const NOUN: Record<EntityKind, string> = { characters: 'people', animals: 'animals', objects: 'things', places: 'places' };
const KIND_OF_NOUN = new Map(Object.entries(NOUN).map(([kind, noun]) => [noun, kind as EntityKind]));
const NUMBER_WORDS = ['zero', 'one', 'two', 'three'];

/** A short story whose text names what `usable` needs (say, a place), with its entities as analyzeText reads them. */
function storyWhere(
  rng: Rng,
  usable: (facts: TextFeatures) => boolean,
  opts: { ending?: Ending; maxChars?: number } = {},
): { story: WorldText; facts: TextFeatures } {
  // every draw names a character and most name a place: 100 draws find one unless `usable` asks the impossible
  for (let attempt = 0; attempt < 100; attempt++) {
    const story = generateShortStory(rng, { maxChars: opts.maxChars ?? STORY_CHARS, ending: opts.ending });
    const facts = analyzeText(story.text);
    if (usable(facts) && (opts.ending === undefined || facts.ending === opts.ending)) return { story, facts };
  }
  throw new Error("No short story of the world met the task's needs in 100 draws.");
}
const anyStory = () => true;
const withPlace = (f: TextFeatures) => f.places.length === 1;
const named = (response: string, kind: EntityKind) => analyzeText(response)[kind];
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const list = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);
const the = (items: string[]) => list(items.map((x) => `the ${x}`));

/** A story in front of a question: "<story> <question>", the question matched by `question`. */
function readStoryThen(instruction: string, question: RegExp): { story: string; match: RegExpMatchArray } | null {
  const match = instruction.match(new RegExp(`^(.+?) (${question.source})$`));
  return match ? { story: match[1], match: match.slice(2) as RegExpMatchArray } : null;
}

const generation: FamilySpec = {
  id: 'generation',
  title: 'Generation',
  closedDomain: false,
  paperShare: 45.6,
  make(rng) {
    const pair = generateInstructionPair(rng);
    return { instruction: instructionOf(pair.prompt!), response: pair.response! };
  },
  read: (instruction) => (/\bstory\b/.test(instruction) && !/[.?!] \S/.test(instruction) ? { family: 'generation' } : null),
  // every named constraint honoured; an instruction that names nothing asks only for a well-formed story
  correct(_, response, instruction) {
    const following = instructionFollowing(instruction, response);
    return following.total > 0 ? following.honoured === following.total : analyzeText(response).wellFormed;
  },
};

const brainstorming: FamilySpec = {
  id: 'brainstorming',
  title: 'Brainstorming',
  closedDomain: false,
  paperShare: 11.2,
  make(rng) {
    const kind = rng.pick(['animals', 'objects', 'places'] as const);
    const count = 2 + rng.int(2);
    const name = rng.pick(CHARACTER_NAMES);
    const pool = { animals: ANIMAL_NAMES, objects: OBJECT_NAMES, places: PLACE_NAMES }[kind];
    const picks = rng.shuffle([...pool]).slice(0, count);
    const where = kind === 'places' ? 'could go to' : `could take ${PLACES[rng.pick(PLACE_NAMES)].at.replace(/^(at|in|on|by) /, 'to ')}`;
    const instruction = `Name ${NUMBER_WORDS[count]} ${NOUN[kind]} ${name} ${where}.`;
    return { instruction, response: ` ${capitalise(list(picks.map((x) => (kind === 'places' ? `the ${x}` : article(x)))))}.` };
  },
  read(instruction) {
    const m = instruction.match(/^Name (two|three) (animals|things|places) (\w+) could /);
    return m ? { family: 'brainstorming', count: NUMBER_WORDS.indexOf(m[1]), subject: KIND_OF_NOUN.get(m[2]), name: m[3] } : null;
  },
  correct: (r, response) => named(response, r.subject as EntityKind).length === r.count && analyzeText(response).sentences === 1,
};

const rewrite: FamilySpec = {
  id: 'rewrite',
  title: 'Rewrite',
  closedDomain: true,
  paperShare: 6.6,
  make(rng, storyChars = STORY_CHARS) {
    const target: Ending = rng.next() < 0.5 ? 'happy' : 'sad';
    const maxChars = Math.min(REWRITE_STORY_CHARS, storyChars);
    const { story } = storyWhere(rng, anyStory, { ending: target === 'happy' ? 'sad' : 'happy', maxChars });
    const how = target === 'happy' ? 'happily' : 'sadly';
    return {
      instruction: `Rewrite this story so that it ends ${how}: ${story.text}`,
      response: ` ${retellWithEnding(story, target, rng)}`,
    };
  },
  read(instruction) {
    const m = instruction.match(/^Rewrite this story so that it ends (happily|sadly): (.+)$/);
    return m ? { family: 'rewrite', subject: m[1] === 'happily' ? 'happy' : 'sad', story: m[2] } : null;
  },
  correct(r, response) {
    const asked = analyzeText(r.story!);
    const told = analyzeText(response);
    return told.ending === r.subject && sameSet(told.characters, asked.characters) && told.sentences >= asked.sentences - 1;
  },
};

const summarisation: FamilySpec = {
  id: 'summarisation',
  title: 'Summarisation',
  closedDomain: true,
  paperShare: 4.2,
  make(rng, maxChars) {
    const { story, facts } = storyWhere(rng, withPlace, { maxChars });
    const { characters, animals, places } = facts;
    const company = animals.length > 0 ? ` with ${the(animals)}` : '';
    const response = ` ${list(characters)} ${characters.length > 1 ? 'were' : 'was'} ${PLACES[places[0]].at}${company}.`;
    return { instruction: `In one sentence, what happens in this story: ${story.text}`, response };
  },
  read(instruction) {
    const m = instruction.match(/^In one sentence, what happens in this story: (.+)$/);
    return m ? { family: 'summarisation', story: m[1] } : null;
  },
  correct(r, response) {
    const asked = analyzeText(r.story!);
    const told = analyzeText(response);
    return told.sentences === 1 && told.characters.includes(asked.characters[0]) && sameSet(told.places, asked.places);
  },
};

const classification: FamilySpec = {
  id: 'classification',
  title: 'Classification',
  closedDomain: true,
  paperShare: 3.5,
  make(rng, maxChars) {
    const ending: Ending = rng.next() < 0.5 ? 'happy' : 'sad';
    const { story } = storyWhere(rng, anyStory, { ending, maxChars });
    return { instruction: `${story.text} Is the ending happy or sad?`, response: ` ${capitalise(ending)}.` };
  },
  read(instruction) {
    const read = readStoryThen(instruction, /Is the ending happy or sad\?/);
    return read ? { family: 'classification', story: read.story } : null;
  },
  correct(r, response) {
    const answer = response
      .trim()
      .toLowerCase()
      .match(/^(happy|sad)\b/)?.[1];
    return answer !== undefined && answer === analyzeText(r.story!).ending && splitSentences(response).length === 1;
  },
};

/** Closed QA asks where someone was, or which animals or things they had: each answer is in the story. */
const closedQa: FamilySpec = {
  id: 'closed_qa',
  title: 'Closed QA',
  closedDomain: true,
  paperShare: 2.6,
  make(rng, maxChars) {
    const { story, facts } = storyWhere(rng, anyStory, { maxChars });
    const { characters, animals, objects, places } = facts;
    const name = characters[0];
    const asks = [
      ...(places.length === 1 ? [{ q: `Where was ${name}?`, a: `${name} was ${PLACES[places[0]].at}.` }] : []),
      ...(animals.length > 0 ? [{ q: `Which animals did ${name} see?`, a: `${name} saw ${the(animals)}.` }] : []),
      ...(objects.length > 0 ? [{ q: `What things did ${name} have?`, a: `${name} had ${the(objects)}.` }] : []),
    ];
    const ask = rng.pick(asks);
    return { instruction: `${story.text} ${ask.q}`, response: ` ${ask.a}` };
  },
  read(instruction) {
    const read = readStoryThen(instruction, /(?:Where was (\w+)\?|Which animals did (\w+) see\?|What things did (\w+) have\?)/);
    if (!read) return null;
    const [, where, animals, things] = read.match;
    const subject: EntityKind = where ? 'places' : animals ? 'animals' : 'objects';
    return { family: 'closed_qa', story: read.story, subject, name: where ?? animals ?? things };
  },
  correct: (r, response) => sameSet(named(response, r.subject as EntityKind), named(r.story!, r.subject as EntityKind)),
};

const extraction: FamilySpec = {
  id: 'extraction',
  title: 'Extraction',
  closedDomain: true,
  paperShare: 1.9,
  make(rng, maxChars) {
    const { story, facts } = storyWhere(rng, anyStory, { maxChars });
    const kind = rng.pick((['characters', 'animals', 'objects'] as const).filter((k) => facts[k].length > 0));
    const items = facts[kind];
    const answer = kind === 'characters' ? list(items) : capitalise(the(items));
    return { instruction: `${story.text} List the ${NOUN[kind]} in the story.`, response: ` ${answer}.` };
  },
  read(instruction) {
    const read = readStoryThen(instruction, /List the (people|animals|things) in the story\./);
    return read ? { family: 'extraction', story: read.story, subject: KIND_OF_NOUN.get(read.match[1]) } : null;
  },
  correct: (r, response) => sameSet(named(response, r.subject as EntityKind), named(r.story!, r.subject as EntityKind)),
};

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** Every family, generation last: its reader takes any story request the others do not. */
export const FAMILIES: readonly FamilySpec[] = [brainstorming, rewrite, summarisation, classification, closedQa, extraction, generation];
export const FAMILY_BY_ID = Object.fromEntries(FAMILIES.map((f) => [f.id, f])) as Record<TaskFamily, FamilySpec>;

/** The family of a formatted prompt ("Instruction: …\nResponse:"), or null for a text no family writes (an imported one). */
export function familyOfPrompt(prompt: string): TaskFamily | null {
  return readInstruction(instructionOf(prompt))?.family ?? null;
}

/**
 * Whether a prompt is an instruction whose named details a response can honour (instructionFollowing.ts): a story
 * request, or a text no family writes; the other families' prompts are graded by their own programs instead.
 */
export function followsInstructions(prompt: string): boolean {
  const family = familyOfPrompt(prompt);
  return family === null || family === 'generation';
}

/** Which family a bare instruction belongs to, and what it asks; null for a text no family writes. */
export function readInstruction(instruction: string): TaskReading | null {
  for (const family of FAMILIES) {
    const reading = family.read(instruction);
    if (reading) return reading;
  }
  return null;
}
