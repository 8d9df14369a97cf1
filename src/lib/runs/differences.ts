/**
 * Labels that tell runs apart by their settings: each run is named by the settings that are not the
 * same in all the runs compared ("beta 0" against "beta 0.05"), and by nothing they share. Every
 * differing setting is named, also one that changed together with another: naming only one of the
 * two would pin the difference on it. Runs with the same settings fall back to their names.
 */
import type { SettingValue, SettingValues } from '../settings';

export interface LabelledRun {
  id: string;
  name: string;
  settings: SettingValues;
}

/** A value as a label shows it: 0.003 rather than 0.0030000000000000001, on/off for flags, – when unset. */
export function formatSetting(value: SettingValue | undefined): string {
  if (value === undefined) return '–';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
  return value;
}

/** The keys whose values are not the same in every run, in the order the settings list them. */
export function differingKeys(runs: readonly LabelledRun[]): string[] {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.settings)))];
  return keys.filter((k) => new Set(runs.map((r) => formatSetting(r.settings[k]))).size > 1);
}

/**
 * Run id → label. `names` maps a setting's key to what to call it (its spec's label, or "beta"); keys
 * without one are shown as they are. A label shared by runs with equal settings gets the run's name.
 */
export function differenceLabels(runs: readonly LabelledRun[], names: Readonly<Record<string, string>> = {}): Record<string, string> {
  const keys = differingKeys(runs);
  const labels = runs.map((r) => keys.map((k) => `${names[k] ?? k} ${formatSetting(r.settings[k])}`).join(', '));
  const taken = (label: string) => labels.filter((l) => l === label).length > 1;
  return Object.fromEntries(runs.map((r, i) => [r.id, !labels[i] ? r.name : taken(labels[i]) ? `${labels[i]} · ${r.name}` : labels[i]]));
}
