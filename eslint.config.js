// ESLint: typescript-eslint and eslint-plugin-svelte, formatting left to Prettier, and the layers'
// import direction (UI → worker API → session → stages → model/data) enforced per folder.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

const forbid = (...patterns) => ['error', { patterns: patterns.map((group) => ({ group: [group.from], message: group.why })) }];
const noTfjs = { from: '@tensorflow/*', why: 'The main thread never imports tfjs: reach it through the engine worker.' };
const noUi = { from: '**/ui/**', why: 'src/lib is DOM-free and knows nothing of the UI.' };
const noWorkers = { from: '**/workers/**', why: 'src/lib runs the same in a worker and in Node: it imports nothing from workers/.' };
const noSession = { from: '**/session/**', why: 'Stages, models and data sit below the session.' };
const noStages = { from: '**/stages/**', why: 'Models and data sit below the stages.' };

export default ts.config(
  { ignores: ['dist/', 'node_modules/', 'bench-results/', 'test-results/', 'playwright-report/', 'public/'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  prettier,
  ...svelte.configs.prettier,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-this-alias': 'off', // a getter-based context object names `session` once, on purpose
    },
  },
  { files: ['**/*.svelte', '**/*.svelte.ts'], languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } } },
  { files: ['src/ui/**', 'src/main.ts'], rules: { 'no-restricted-imports': forbid(noTfjs) } },
  { files: ['src/lib/**'], rules: { 'no-restricted-imports': forbid(noUi, noWorkers) } },
  { files: ['src/lib/stages/**'], rules: { 'no-restricted-imports': forbid(noUi, noWorkers, noSession) } },
  {
    files: ['src/lib/model/**', 'src/lib/data/**', 'src/lib/rlhf/**', 'src/lib/train/**'],
    rules: { 'no-restricted-imports': forbid(noUi, noWorkers, noSession, noStages) },
  },
);
