/**
 * Setting specs: each stage declares its settings once (key, label, default, range, a short
 * explanation) beside the code that reads them. Defaults and the value type derive from the spec;
 * the UI renders controls from it and the session validates against it. `hidden` keys are real
 * settings that the form does not show.
 */
export interface NumberSetting<K extends string = string> {
  key: K;
  label: string;
  kind: 'int' | 'float';
  default: number;
  min: number;
  max: number;
  help: string;
  hidden?: boolean;
}

export interface ChoiceSetting<K extends string = string, O extends string = string> {
  key: K;
  label: string;
  kind: 'choice';
  default: O;
  options: readonly O[];
  help: string;
  hidden?: boolean;
}

export interface FlagSetting<K extends string = string> {
  key: K;
  label: string;
  kind: 'flag';
  default: boolean;
  help: string;
  hidden?: boolean;
}

export type SettingSpec = NumberSetting | ChoiceSetting | FlagSetting;
export type SettingValue = number | string | boolean;
export type SettingValues = Record<string, SettingValue>;

type ValueOf<S> = S extends FlagSetting ? boolean : S extends ChoiceSetting<string, infer O> ? O : number;

/** The values object a spec describes, e.g. { steps: number; kl_estimator: 'k1' | 'k3'; adaptive_kl: boolean }. */
export type SettingsOf<Specs extends readonly SettingSpec[]> = { [S in Specs[number] as S['key']]: ValueOf<S> };

export const int = <K extends string>(key: K, label: string, def: number, min: number, max: number, help: string): NumberSetting<K> => ({
  key,
  label,
  kind: 'int',
  default: def,
  min,
  max,
  help,
});

export const float = <K extends string>(key: K, label: string, def: number, min: number, max: number, help: string): NumberSetting<K> => ({
  key,
  label,
  kind: 'float',
  default: def,
  min,
  max,
  help,
});

export const choice = <K extends string, const O extends string>(
  key: K,
  label: string,
  def: O,
  options: readonly O[],
  help: string,
): ChoiceSetting<K, O> => ({
  key,
  label,
  kind: 'choice',
  default: def,
  options,
  help,
});

export const flag = <K extends string>(key: K, label: string, def: boolean, help: string): FlagSetting<K> => ({
  key,
  label,
  kind: 'flag',
  default: def,
  help,
});

/** A setting the code reads but the form does not show. */
export const hidden = <S extends SettingSpec>(spec: S): S => ({ ...spec, hidden: true });

export const SEED = int('seed', 'Seed', 1, 0, 2 ** 31 - 1, 'Random seed: the same seed repeats the same run.');

export function defaultsOf<const Specs extends readonly SettingSpec[]>(specs: Specs): SettingsOf<Specs> {
  return Object.fromEntries(specs.map((s) => [s.key, s.default])) as SettingsOf<Specs>;
}

/** Message for a value that does not fit its spec, or null. */
export function settingError(spec: SettingSpec, value: unknown): string | null {
  if (spec.kind === 'flag') return typeof value === 'boolean' ? null : `${spec.label} must be on or off.`;
  if (spec.kind === 'choice')
    return spec.options.includes(value as string) ? null : `${spec.label} must be one of ${spec.options.join(', ')}.`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${spec.label} must be a number.`;
  if (spec.kind === 'int' && !Number.isInteger(value)) return `${spec.label} must be a whole number.`;
  if (value < spec.min || value > spec.max) return `${spec.label} must be between ${spec.min} and ${spec.max}; got ${value}.`;
  return null;
}

/** Merges `changes` into `current`, refusing (with every reason) if any value is out of range or unknown. */
export function applySettings(specs: readonly SettingSpec[], current: SettingValues, changes: SettingValues): SettingValues {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(changes)) {
    const spec = specs.find((s) => s.key === key);
    const problem = spec ? settingError(spec, value) : `Unknown setting "${key}".`;
    if (problem) errors.push(problem);
  }
  if (errors.length) throw new Error(errors.join(' '));
  return { ...current, ...changes };
}
