/** Export of a class's accepted rankings as TRL preference JSONL ({prompt, chosen, rejected}) with the annotator of each pair. */
import type { PublishedTask } from './types';

export interface ExportedRanking {
  taskId: string;
  order: number[];
  annotator: string;
  alias: string;
}

export interface TrlPairLine {
  prompt: string;
  chosen: string;
  rejected: string;
  annotator: string;
  alias: string;
  task_id: string;
}

/** The K(K-1)/2 pairs of one ranking, best-first order: order[i] is chosen over order[j] for i < j. */
export function trlPairs(r: ExportedRanking, task: PublishedTask): TrlPairLine[] {
  const lines: TrlPairLine[] = [];
  for (let i = 0; i < r.order.length; i++) {
    for (let j = i + 1; j < r.order.length; j++) {
      lines.push({
        prompt: task.prompt,
        chosen: task.completions[r.order[i]],
        rejected: task.completions[r.order[j]],
        annotator: r.annotator,
        alias: r.alias,
        task_id: task.id,
      });
    }
  }
  return lines;
}

export function toTrlJsonl(rankings: readonly ExportedRanking[], tasks: ReadonlyMap<string, PublishedTask>): string {
  return rankings
    .flatMap((r) => {
      const task = tasks.get(r.taskId);
      return task ? trlPairs(r, task) : [];
    })
    .map((line) => JSON.stringify(line) + '\n')
    .join('');
}
