/**
 * A stand-in ClassroomEngine with canned tasks, for the classroom's test page, unit tests and load test, until the
 * real engine is wired in. It records what it was given; its "reward model" accuracy is the share of submitted
 * pairs that put the lower-numbered completion first (the canned completions are numbered best first).
 */
import type { ClassroomEngine } from './host';
import type { RankingTask } from './types';

export interface FakeSubmission {
  id: string;
  taskId: string;
  order: number[];
  annotator: string;
}

export class FakeClassroomEngine implements ClassroomEngine {
  readonly submissions: FakeSubmission[] = [];
  private made = 0;
  private agree = 0;
  private pairs = 0;

  constructor(private readonly delayMs = 0) {}

  async nextTask(k: number): Promise<RankingTask> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const n = ++this.made;
    const completions = Array.from({ length: k }, (_, i) => `answer ${i + 1} to question ${n}`);
    return { id: `task-${n}`, prompt: `Instruction: question ${n}\nResponse:`, completions, iteration: 0 };
  }

  async submitRanking(r: { id: string; taskId: string; order: number[]; annotator: string }): Promise<void> {
    this.submissions.push({ id: r.id, taskId: r.taskId, order: [...r.order], annotator: r.annotator });
    for (let i = 0; i < r.order.length; i++) {
      for (let j = i + 1; j < r.order.length; j++) {
        this.pairs++;
        if (r.order[i] < r.order[j]) this.agree++;
      }
    }
  }

  rewardAccuracy(): number | null {
    return this.pairs === 0 ? null : this.agree / this.pairs;
  }
}
