/**
 * Holds metric points back and flushes them at most every `intervalMs`, so a fast loop never floods
 * the UI thread. After each flush `afterFlush` hears which stages moved (to send their progress).
 */
import type { EngineEvent, MetricPoint, StageName } from '../types';

export class MetricThrottle {
  private readonly pending = new Map<StageName, MetricPoint[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly emit: (e: EngineEvent) => void;
  private readonly afterFlush: (stages: StageName[]) => void;
  private readonly intervalMs: number;

  constructor(emit: (e: EngineEvent) => void, afterFlush: (stages: StageName[]) => void = () => {}, intervalMs = 250) {
    this.emit = emit;
    this.afterFlush = afterFlush;
    this.intervalMs = intervalMs;
  }

  push(stage: StageName, point: MetricPoint): void {
    const points = this.pending.get(stage) ?? [];
    points.push(point);
    this.pending.set(stage, points);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const [stage, points] of this.pending) if (points.length) this.emit({ type: 'metrics', stage, points });
    const moved = [...this.pending.keys()];
    this.pending.clear();
    this.afterFlush(moved);
  }
}
