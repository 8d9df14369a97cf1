/**
 * Tap-to-order on a phone: tapping completions in order of preference builds the ranking (best first); tapping a
 * ranked one puts it back. When one is left it is last by force. Pure, for the student page and its tests.
 */

export interface TapOrder {
  /** completion indices ranked so far, best first */
  ranked: number[];
  k: number;
}

export function startOrder(k: number): TapOrder {
  return { ranked: [], k };
}

export function unranked(state: TapOrder): number[] {
  return Array.from({ length: state.k }, (_, i) => i).filter((i) => !state.ranked.includes(i));
}

/** Tap on completion `index`: rank it next, or take it (and nothing else) out of the ranking. */
export function tap(state: TapOrder, index: number): TapOrder {
  if (!Number.isInteger(index) || index < 0 || index >= state.k) return state;
  if (state.ranked.includes(index)) return { ...state, ranked: state.ranked.filter((i) => i !== index) };
  const ranked = [...state.ranked, index];
  const rest = unranked({ ...state, ranked });
  return { ...state, ranked: rest.length === 1 ? [...ranked, rest[0]] : ranked };
}

/** Swap ranked positions `pos` and `pos + delta` (the ▲/▼ buttons). */
export function nudge(state: TapOrder, pos: number, delta: -1 | 1): TapOrder {
  const to = pos + delta;
  if (pos < 0 || to < 0 || pos >= state.ranked.length || to >= state.ranked.length) return state;
  const ranked = [...state.ranked];
  [ranked[pos], ranked[to]] = [ranked[to], ranked[pos]];
  return { ...state, ranked };
}

export function isComplete(state: TapOrder): boolean {
  return state.ranked.length === state.k;
}
