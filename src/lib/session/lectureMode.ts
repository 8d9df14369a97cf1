/**
 * Lecture mode: a simulated labeler (src/lib/data/labelers.ts) ranks a fresh task every 60/pace
 * seconds on its own, with a chosen agreement with its own gold order; its gold score is what PPO-ptx
 * reports as objective/gold.
 */
import { LABELERS, labelerById, noiseForAgreement, rankCompletions } from '../data/labelers';
import { Rng } from '../data/rng';
import { DEFAULT_LABELER_SETTINGS, labelerSettingsError } from '../labelerSettings';
import type { LabelerInfo, LabelerSettings, RankingTask } from '../types';
import type { RankingFlow } from './rankingFlow';

export class LectureMode {
  settings: LabelerSettings = { ...DEFAULT_LABELER_SETTINGS };
  private readonly rng = new Rng(20_220_304);
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;

  constructor(
    private readonly flow: RankingFlow,
    private readonly warn: (message: string) => void,
    private readonly hasModel: () => boolean,
  ) {}

  labelers(): LabelerInfo[] {
    return LABELERS.map(({ id, name, description }) => ({ id, name, description }));
  }

  set(settings: LabelerSettings): void {
    const problem = labelerSettingsError(
      settings,
      LABELERS.map((l) => l.id),
    );
    if (problem) throw new Error(problem);
    this.settings = { ...settings };
    this.stop();
    if (settings.labelerId) this.timer = setInterval(() => void this.tick(), 60_000 / settings.pace);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The labeler's gold score while lecture mode is on. */
  goldScorer(): ((text: string) => number) | undefined {
    const id = this.settings.labelerId;
    return id ? (text: string) => labelerById(id).gold(text) : undefined;
  }

  /** The labeler's order for a task (best first). */
  private order(labelerId: string, task: RankingTask): number[] {
    const texts = task.completions.map((c) => task.prompt + c);
    return rankCompletions(labelerById(labelerId), texts, { noise: noiseForAgreement(this.settings.agreement), rng: this.rng });
  }

  /** One ranking by the simulated labeler; false when it had nothing to do. */
  async tick(): Promise<boolean> {
    const { labelerId, k } = this.settings;
    if (!labelerId || this.busy || !this.hasModel()) return false;
    this.busy = true;
    try {
      const task = await this.flow.nextTask(k);
      await this.flow.submit(task.id, this.order(labelerId, task), 'labeler', labelerId);
      return true;
    } catch (err) {
      this.warn(`The simulated labeler stopped: ${(err as Error).message}`);
      this.set({ ...this.settings, labelerId: null });
      return false;
    } finally {
      this.busy = false;
    }
  }
}
