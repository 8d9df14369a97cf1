/**
 * Sentence templates of the small world, by slot. Placeholders are filled by world.ts; a template whose
 * placeholder has no value in a story (say {animal} in a story without animals) is skipped.
 *
 *   {Name} {Name2}   first and second character      {He} {he} {his} {His} {him}  pronouns of {Name}
 *   {Group}          "Tom" or "Tom and Mia"           {was}                        "was" or "were" for {Group}
 *   {animal} {animal2} {animalAct} {animalAct2}      {object} {object2} {objAct} {objAct2}
 *   {place} {at_place} {placeDetail}                 {color}                      a random adjective
 */
import type { Ending, Mood } from './lexicon';

export const OPENINGS = [
  'One day, {Group} went to the {place}.',
  'Once upon a time, {Group} lived near a {place}.',
  'It was a sunny morning, and {Group} went to the {place}.',
  'Early one morning, {Group} walked to the {place}.',
  '{Group} liked to play {at_place}.',
  'On a cold day, {Group} went to the {place}.',
  '{Group} spent the day {at_place}.',
];

export const INTRO_ONE_ANIMAL = [
  '{Name} saw a {color} {animal}.',
  'A {color} {animal} came to play with {him}.',
  '{Name} had a pet {animal}.',
  'There was a {animal} {at_place}.',
  '{Name} met a friendly {animal}.',
];

export const INTRO_TWO_ANIMALS = [
  '{Name} saw a {animal} and a {animal2}.',
  'A {animal} and a {animal2} came to play.',
  'There was a {animal} and a {animal2} {at_place}.',
];

export const INTRO_ONE_OBJECT = [
  '{Name} had a {color} {object}.',
  '{He} brought {his} {object}.',
  '{Name} found a {color} {object} on the ground.',
  '{Name2} gave {Name} a {color} {object}.',
];

export const INTRO_TWO_OBJECTS = ['{Name} had a {object} and a {object2}.', '{He} brought a {object} and a {object2}.'];

/** One sentence for one animal and one object, for stories too short for two introductions. */
export const INTRO_ANIMAL_AND_OBJECT = [
  '{Name} had a {object}, and a {animal} came to see it.',
  '{Name} took {his} {object} and {his} {animal} along.',
];

export const MOOD_SENTENCES: Record<Mood, string[]> = {
  happy: [
    '{Name} felt happy.',
    '{Name} smiled a big smile.',
    '{Group} {was} so glad to be {at_place}.',
    '{He} was happy all day long.',
    'The {animal} looked happy too.',
    '{Name2} smiled at {Name}.',
    '{Name} felt cheerful.',
  ],
  sad: [
    '{Name} felt sad.',
    '{Name} began to cry.',
    'Tears ran down {his} face.',
    '{He} was sad and did not want to play.',
    'The {animal} looked sad too.',
    '{Name2} cried a little.',
    '{Group} {was} gloomy.',
  ],
  scared: [
    '{Name} felt scared.',
    '{He} was afraid of the dark clouds.',
    '{Name} trembled with fear.',
    'The {animal} was scared of the loud noise.',
    '{Group} {was} frightened.',
    '{Name2} was afraid too.',
  ],
  calm: [
    '{Name} felt calm.',
    '{He} sat quietly and listened to the wind.',
    'Everything {at_place} was calm and peaceful.',
    '{Name} breathed softly.',
    'The {animal} rested quietly next to {him}.',
    '{Group} {was} relaxed.',
  ],
  angry: [
    '{Name} felt angry.',
    '{Name} stomped {his} feet.',
    '{He} shouted, "That is not fair!"',
    '{Name} was grumpy.',
    'The {animal} looked angry too.',
    '{Name2} was mad at {Name}.',
  ],
};

export const FILLERS = [
  '{Group} ran along the path.',
  'The sun was warm and bright.',
  'The wind began to blow.',
  '{Group} looked up at the sky.',
  '{Name} sat down on a rock.',
  '{Group} walked for a long time.',
  '{Name} said, "Let us play."',
  '"Come with me," said {Name}.',
  '{Name2} asked, "Where are we going?"',
  'A cloud moved across the sky.',
  'Soon it was time for lunch.',
  '{Name} had a drink of water.',
  '{placeDetail}',
  '{Name} {objAct}.',
  'Then {he} {objAct}.',
  '{Name2} {objAct2}.',
  '{Name} showed the {object} to {Name2}.',
  'The {animal} {animalAct}.',
  'The {animal2} {animalAct2}.',
  '{Name} and the {animal} played together.',
  'The {animal} sniffed the {object}.',
  '{Name} gave the {animal} some food.',
];

export const ENDING_SENTENCES: Record<Ending, string[]> = {
  happy: [
    'In the end, {Group} went home, and it was a wonderful day.',
    '{Name} hugged the {animal}, and all was well.',
    'It was the best day ever.',
    '{Name} and {Name2} hugged and went home together.',
    '{Name} kept the {object}, and it was a wonderful day.',
    'Everyone hugged, and it was the best day of the year.',
  ],
  sad: [
    'In the end, {Name} walked home alone.',
    'The {animal} ran away and never came back.',
    'The {object} was lost, and {Name} never found it.',
    '{Name2} moved away, and {Name} was alone.',
    'The day was over, and {Name} never went back to the {place}.',
    '{His} {object} was gone forever.',
  ],
  funny: [
    'The {animal} fell into the mud, and everyone laughed.',
    '{Name} slipped in the mud, and everyone laughed.',
    'It was the silliest day ever.',
    '{Group} giggled all the way home.',
    'The {animal} did a silly dance, and {Name} laughed and laughed.',
    '{Name} wore the {object} on {his} head, and everyone laughed.',
  ],
  surprise: [
    'Then, to {his} surprise, the {animal} began to talk.',
    "To everyone's surprise, the {object} was magic.",
    'Under a rock, {Name} found a secret map.',
    'What a surprise it was!',
    '{Name2} jumped out and said, "Surprise!"',
    'The {animal} had a secret friend, and it was a big surprise.',
  ],
};

export const CLOSING = 'The end.';

/** Instruction openers; a question opener gets a question mark. */
export const INSTRUCTION_OPENERS = ['Write a', 'Tell me a', 'Please write a', 'Can you write a', 'I would like a'];
