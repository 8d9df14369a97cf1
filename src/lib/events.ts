/** Holds metric points back and flushes them at most every `intervalMs`, so a fast loop never floods the UI thread. */
import type { EngineEvent, MetricPoint, StageName } from '../../workers/api';

export class MetricThrottle {
  private readonly pending = new Map<StageName, MetricPoint[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly emit: (e: EngineEvent) => void;
  private readonly intervalMs: number;

  constructor(emit: (e: EngineEvent) => void, intervalMs = 250) {
    this.emit = emit;
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
    this.pending.clear();
  }
}
