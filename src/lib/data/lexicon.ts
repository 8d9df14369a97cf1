/**
 * The small world's cast and its attribute words. Each mood and each ending owns words that no other
 * sentence of the world uses, so that analyzeText() can read the attributes back from any text.
 */

export type Mood = 'happy' | 'sad' | 'scared' | 'calm' | 'angry';
export type Ending = 'happy' | 'sad' | 'funny' | 'surprise';
export type Length = 'short' | 'medium' | 'long';

export const MOODS: readonly Mood[] = ['happy', 'sad', 'scared', 'calm', 'angry'];
export const ENDINGS: readonly Ending[] = ['happy', 'sad', 'funny', 'surprise'];
export const LENGTHS: readonly Length[] = ['short', 'medium', 'long'];

/** Sentence counts per length; lengthOf() inverts them. */
export const SENTENCE_RANGE: Record<Length, [number, number]> = { short: [3, 4], medium: [5, 6], long: [7, 9] };

export function lengthOf(sentences: number): Length {
  if (sentences <= SENTENCE_RANGE.short[1]) return 'short';
  if (sentences <= SENTENCE_RANGE.medium[1]) return 'medium';
  return 'long';
}

export const CHARACTERS: Record<string, 'he' | 'she'> = {
  Mia: 'she',
  Tom: 'he',
  Lily: 'she',
  Ben: 'he',
  Sam: 'he',
  Anna: 'she',
  Max: 'he',
  Zoe: 'she',
  Leo: 'he',
  Ella: 'she',
};
export const CHARACTER_NAMES = Object.keys(CHARACTERS);

/** What each animal does in a sentence such as "The dog barked." */
export const ANIMALS: Record<string, string> = {
  dog: 'barked',
  cat: 'purred',
  bird: 'sang a song',
  rabbit: 'hopped around',
  fox: 'ran into the bushes',
  duck: 'quacked',
  frog: 'jumped up and down',
  owl: 'hooted',
};
export const ANIMAL_NAMES = Object.keys(ANIMALS);

/** What a character does with each object: "Tom kicked the ball." */
export const OBJECTS: Record<string, string> = {
  ball: 'kicked the ball',
  kite: 'flew the kite',
  hat: 'put on the hat',
  boat: 'sailed the boat',
  book: 'read the book',
  drum: 'played the drum',
  box: 'opened the box',
  cake: 'ate some cake',
};
export const OBJECT_NAMES = Object.keys(OBJECTS);

export interface Place {
  at: string; // "at the park"
  detail: string; // a sentence that sets the scene
}
export const PLACES: Record<string, Place> = {
  park: { at: 'at the park', detail: 'There were swings in the park.' },
  forest: { at: 'in the forest', detail: 'The trees in the forest were tall.' },
  beach: { at: 'at the beach', detail: 'The sand on the beach was warm.' },
  farm: { at: 'on the farm', detail: 'There was a big red barn on the farm.' },
  garden: { at: 'in the garden', detail: 'Flowers grew all over the garden.' },
  lake: { at: 'by the lake', detail: 'The water in the lake was blue.' },
  hill: { at: 'on the hill', detail: 'The top of the hill was windy.' },
};
export const PLACE_NAMES = Object.keys(PLACES);

export const COLORS = ['red', 'blue', 'green', 'yellow', 'little', 'big', 'small', 'brown', 'white', 'shiny'];

/** Words that only mood sentences use. */
export const MOOD_WORDS: Record<Mood, string[]> = {
  happy: ['happy', 'glad', 'smiled', 'smile', 'cheerful'],
  sad: ['sad', 'cry', 'cried', 'tears', 'gloomy'],
  scared: ['scared', 'afraid', 'fear', 'frightened', 'trembled'],
  calm: ['calm', 'quietly', 'peaceful', 'softly', 'relaxed'],
  angry: ['angry', 'stomped', 'shouted', 'grumpy', 'mad'],
};

/** Words and phrases that only ending sentences use. */
export const ENDING_WORDS: Record<Ending, string[]> = {
  happy: ['wonderful', 'hugged', 'best day'],
  sad: ['alone', 'never', 'lost', 'gone'],
  funny: ['laughed', 'giggled', 'silly', 'silliest'],
  surprise: ['surprise', 'secret', 'magic'],
};

/** How an instruction names a mood: "Write a scary story." */
export const MOOD_ADJECTIVE: Record<Mood, string> = { happy: 'happy', sad: 'sad', scared: 'scary', calm: 'calm', angry: 'angry' };
