/** Pure helpers of the ranking panel (no Svelte, no tfjs): moving items, labels, agreement with the reward model. */
import type { StageInfo, StageStatus } from '../lib/types';

export { MIN_COMPLETIONS as MIN_K, MAX_COMPLETIONS as MAX_K } from '../lib/rlhf/rankings';

/** The list with the item at `from` taken out and put back in at `to`. */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  const out = list.slice();
  if (from < 0 || from >= out.length) return out;
  const target = Math.max(0, Math.min(out.length - 1, to));
  const [item] = out.splice(from, 1);
  out.splice(target, 0, item);
  return out;
}

/** A, B, C… so one completion can be followed from the user's order to the reward model's. */
export function letter(index: number): string {
  return String.fromCharCode(65 + index);
}

/** Completion indices sorted by score, best first (ties keep the lower index first). */
export function orderByScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** How many of the K(K-1)/2 pairs of `order` (best first) the scores put the same way round. */
export function pairAgreement(order: readonly number[], scores: readonly number[]): { agree: number; pairs: number } {
  let agree = 0;
  let pairs = 0;
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) {
      pairs++;
      if (scores[order[i]] > scores[order[j]]) agree++;
    }
  }
  return { agree, pairs };
}

/**
 * Where the reward model stands (the stage that `scoresRankings`): none yet; training in a full run, which takes new
 * rankings into its training set; or ready, learning each new ranking in an incremental update that reports its scores.
 */
export type RewardState = 'none' | 'training' | 'ready';

export function rewardState(stages: readonly StageInfo[], status: (name: string) => StageStatus): RewardState {
  const scorer = stages.find((s) => s.scoresRankings);
  const state = scorer ? status(scorer.name).state : 'not-started';
  if (state === 'not-started') return 'none';
  return state === 'running' || state === 'pausing' ? 'training' : 'ready';
}

/**
 * What the comparison line says while the reward model's order of the last ranking is not in: `taken` is the reward
 * model's state when the engine took the ranking (undefined while the stored ranking waits for a busy engine).
 * 'learning' only where an incremental update will report on it; 'in-run' where a full training run took it instead.
 */
export type ComparisonNote = 'no-model' | 'learning' | 'in-run';

export function comparisonNote(now: RewardState, taken: RewardState | undefined): ComparisonNote {
  if (now === 'none') return 'no-model';
  return now === 'ready' && (taken ?? now) === 'ready' ? 'learning' : 'in-run';
}

/** The instruction inside a formatted prompt ("Instruction: …\nResponse:"), else the prompt itself. */
export function instructionOf(prompt: string): string {
  const m = /^Instruction:\s*([\s\S]*?)\s*\n?Response:\s*$/.exec(prompt);
  return (m ? m[1] : prompt).trim();
}

/** Lets the browser download `text` as a file. */
export function downloadText(text: string, name: string, type = 'application/jsonl'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
