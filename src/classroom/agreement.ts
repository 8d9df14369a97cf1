/**
 * Inter-student agreement: of the completion pairs that two students ranked in the same task, the share they put
 * the same way round (InstructGPT reports 72.6 ± 1.5% between its labelers). Kept incrementally per task.
 */

/** The InstructGPT paper's inter-labeler agreement. */
export const PAPER_AGREEMENT = 0.73;

/** position[c] = rank of completion c (0 = best) */
function positions(order: readonly number[]): number[] {
  const pos: number[] = [];
  order.forEach((c, rank) => (pos[c] = rank));
  return pos;
}

/** Pairs (i < j) two orders of the same K completions put the same way, and how many pairs there are. */
export function pairsInCommon(a: readonly number[], b: readonly number[]): { agree: number; pairs: number } {
  const pa = positions(a);
  const pb = positions(b);
  let agree = 0;
  let pairs = 0;
  for (let i = 0; i < pa.length; i++) {
    for (let j = i + 1; j < pa.length; j++) {
      pairs++;
      if (pa[i] < pa[j] === pb[i] < pb[j]) agree++;
    }
  }
  return { agree, pairs };
}

export class AgreementTally {
  private readonly ordersByTask = new Map<string, number[][]>();
  agree = 0;
  pairs = 0;

  /** Adds one student's order for a task, compared with every earlier order of the same task. */
  add(taskId: string, order: readonly number[]): void {
    const earlier = this.ordersByTask.get(taskId) ?? [];
    for (const other of earlier) {
      if (other.length !== order.length) continue;
      const { agree, pairs } = pairsInCommon(other, order);
      this.agree += agree;
      this.pairs += pairs;
    }
    this.ordersByTask.set(taskId, [...earlier, [...order]]);
  }

  /** Share of shared pairs ranked alike, null before two students ranked the same task. */
  rate(): number | null {
    return this.pairs === 0 ? null : this.agree / this.pairs;
  }
}
