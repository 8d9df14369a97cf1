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

/**
 * A share per part (the prompt mix: one per task family), held as text, "part:weight,part:weight", so that it travels
 * like any other setting (form, address, autosave, run records). Weights have any scale and parts left out weigh 0;
 * a part's share is its weight over their sum. Each part has a label and a note (an example) for the form.
 */
export interface SharesSetting<K extends string = string, P extends string = string> {
  key: K;
  label: string;
  kind: 'shares';
  default: string;
  parts: readonly { id: P; label: string; note?: string }[];
  help: string;
  hidden?: boolean;
}

export type SettingSpec = NumberSetting | ChoiceSetting | FlagSetting | SharesSetting;
export type SettingValue = number | string | boolean;
export type SettingValues = Record<string, SettingValue>;

type ValueOf<S> = S extends FlagSetting
  ? boolean
  : S extends ChoiceSetting<string, infer O>
    ? O
    : S extends SharesSetting
      ? string
      : number;

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

export const shares = <K extends string, const P extends string>(
  key: K,
  label: string,
  parts: readonly { id: P; label: string; note?: string }[],
  def: Readonly<Record<P, number>>,
  help: string,
): SharesSetting<K, P> => ({ key, label, kind: 'shares', default: formatShares(parts, def), parts, help });

/** "part:weight,…" in the parts' order, parts of weight 0 left out. */
export function formatShares(parts: readonly { id: string }[], weights: Readonly<Record<string, number>>): string {
  return parts
    .filter((p) => (weights[p.id] ?? 0) > 0)
    .map((p) => `${p.id}:${weights[p.id]}`)
    .join(',');
}

/** The weights a shares setting's text gives, every part named (0 when left out); throws a message that says what is wrong. */
export function readShares(spec: SharesSetting, text: string): Record<string, number> {
  const ids = spec.parts.map((p) => p.id);
  const weights: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
  const named = new Set<string>();
  for (const item of text.split(',').filter((x) => x.trim() !== '')) {
    const [id, weight, ...rest] = item.split(':').map((x) => x.trim());
    if (weight === undefined || rest.length > 0) throw new Error(`${spec.label}: "${item.trim()}" is not part:weight (e.g. ${ids[0]}:1).`);
    if (!ids.includes(id)) throw new Error(`${spec.label}: there is no part "${id}"; the parts are ${ids.join(', ')}.`);
    if (named.has(id)) throw new Error(`${spec.label}: ${id} is named twice.`);
    const value = weight === '' ? NaN : Number(weight);
    if (!(Number.isFinite(value) && value >= 0))
      throw new Error(`${spec.label}: the weight of ${id} must be a number >= 0; got ${weight}.`);
    named.add(id);
    weights[id] = value;
  }
  if (!Object.values(weights).some((w) => w > 0)) throw new Error(`${spec.label} needs at least one part with a weight above 0.`);
  return weights;
}

/** Each part's share (weights over their sum) of a shares setting's text; throws as readShares does. */
export function sharesOf(spec: SharesSetting, text: string): Record<string, number> {
  const weights = readShares(spec, text);
  const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
  return Object.fromEntries(Object.entries(weights).map(([id, w]) => [id, w / total]));
}

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
  if (spec.kind === 'shares') {
    if (typeof value !== 'string') return `${spec.label} must be text such as ${spec.default}.`;
    try {
      readShares(spec, value);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }
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
