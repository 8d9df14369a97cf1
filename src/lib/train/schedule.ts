/** Learning rate at `step` (0-based): linear warm-up, then cosine decay to minRatio * peak (the paper's SFT uses cosine decay). */
export function cosineLr(step: number, totalSteps: number, peak: number, warmupSteps = 0, minRatio = 0.1): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
