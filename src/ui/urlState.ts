/**
 * The open stage, the lesson and the settings in the page's address: ?stage=ppo&ppo.kl_coef=0&lesson=overopt.
 * Parsing checks each value against its setting's spec (a bad one is refused with a message and the
 * rest still apply); writing keeps only settings that differ from their defaults, and leaves every
 * other parameter (backend, lesson) as it was. Pure, but for `applyUrlSettings`, which is handed the engine's configure.
 */
import { settingError, type SettingSpec, type SettingValue, type SettingValues } from '../lib/settings';
import type { StageInfo, StageName } from '../lib/types';

export interface UrlState {
  stage: StageName | null;
  lesson: string | null;
  /** Checked values per stage, ready for configure. */
  settings: Record<StageName, SettingValues>;
  /** One message per refused parameter. */
  errors: string[];
}

function parseValue(spec: SettingSpec, text: string): SettingValue | undefined {
  if (spec.kind === 'flag') return ({ true: true, on: true, '1': true, false: false, off: false, '0': false } as const)[text];
  if (spec.kind === 'choice' || spec.kind === 'shares') return text;
  return text.trim() === '' ? NaN : Number(text);
}

export function parseUrlState(search: string, stages: readonly StageInfo[]): UrlState {
  const params = new URLSearchParams(search);
  const state: UrlState = { stage: null, lesson: params.get('lesson'), settings: {}, errors: [] };
  const stage = params.get('stage');
  if (stage !== null && stages.some((s) => s.name === stage)) state.stage = stage;
  else if (stage !== null) state.errors.push(`There is no stage "${stage}".`);
  for (const [name, text] of params) {
    const dot = name.indexOf('.');
    if (dot < 0) continue;
    const info = stages.find((s) => s.name === name.slice(0, dot));
    const spec = info?.settings.find((s) => s.key === name.slice(dot + 1));
    if (!info || !spec) {
      state.errors.push(`Unknown setting "${name}".`);
      continue;
    }
    const value = parseValue(spec, text);
    const problem = value === undefined ? `${spec.label} must be on or off.` : settingError(spec, value);
    if (problem) state.errors.push(`${info.title}: ${problem}`);
    else (state.settings[info.name] ??= {})[spec.key] = value!;
  }
  return state;
}

/** The address's query for this stage and these settings: defaults left out, other parameters kept. */
export function urlSearch(
  current: string,
  stage: StageName | null,
  settings: Readonly<Record<StageName, SettingValues>>,
  stages: readonly StageInfo[],
): string {
  const params = new URLSearchParams(current);
  for (const name of [...params.keys()]) if (stages.some((s) => name.startsWith(`${s.name}.`))) params.delete(name);
  if (stage) params.set('stage', stage);
  for (const info of stages)
    for (const spec of info.settings) {
      const value = settings[info.name]?.[spec.key];
      if (value !== undefined && value !== spec.default) params.set(`${info.name}.${spec.key}`, String(value));
    }
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** The query with `lesson` set to the open lesson, or removed when none is open. */
export function lessonSearch(search: string, lesson: string | null): string {
  const params = new URLSearchParams(search);
  if (lesson) params.set('lesson', lesson);
  else params.delete('lesson');
  const query = params.toString();
  return query ? `?${query}` : '';
}

type Outcome = { ok: true } | { ok: false; error: string };

/**
 * Hands each stage's values to `configure` at once; when the engine refuses the lot (a rule between
 * settings), each value alone, so one bad value costs only itself. Returns the refusals.
 */
export async function applyUrlSettings(
  settings: Readonly<Record<StageName, SettingValues>>,
  configure: (stage: StageName, changes: SettingValues) => Promise<Outcome>,
): Promise<string[]> {
  const errors: string[] = [];
  for (const [stage, values] of Object.entries(settings)) {
    if ((await configure(stage, values)).ok) continue;
    for (const [key, value] of Object.entries(values)) {
      const alone = await configure(stage, { [key]: value });
      if (!alone.ok) errors.push(alone.error);
    }
  }
  return errors;
}
