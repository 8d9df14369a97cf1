/** Pure helpers of the ranking panel (no Svelte, no tfjs): moving items, labels, agreement with the reward model. */

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
