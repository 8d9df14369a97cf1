/** Lecture mode's settings, their defaults and their checks: one place for the UI and the session. */
import { kError } from './rlhf/rankings';
import type { LabelerSettings } from './types';

export const DEFAULT_LABELER_SETTINGS: LabelerSettings = { labelerId: null, agreement: 0.73, pace: 6, k: 4 };
export const MAX_PACE = 120;

/** Why these settings cannot be used, or null; `knownIds` are the labelers that exist. */
export function labelerSettingsError(s: LabelerSettings, knownIds: readonly string[]): string | null {
  if (s.labelerId && !knownIds.includes(s.labelerId)) return `Unknown labeler "${s.labelerId}".`;
  if (!(s.agreement >= 0.5 && s.agreement <= 1)) return 'Agreement must be between 0.5 and 1.';
  if (!(s.pace >= 1 && s.pace <= MAX_PACE)) return `Pace must be between 1 and ${MAX_PACE} rankings a minute.`;
  return kError(s.k);
}
