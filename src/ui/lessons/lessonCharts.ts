/**
 * A lesson's chart as MetricChart draws it: one line per run and series, keyed `<run>:<metric>@<kind>`, with
 * the chart's x metric (read from the same point) as each point's step (sorted, as the chart expects). The
 * same for a recorded lesson run (run-history points, values under `<run>:<metric>`), so that earlier runs
 * overlay the live one. Pure.
 */
import type { MetricPoint, RunRecord } from '../../lib/runs/record';
import type { ChartSpec, LessonInfo, SeriesSpec } from '../../lib/types';

export interface ChartLine {
  key: string;
  label: string;
}

/** A run's points, as far as a chart needs them: which run, and its points. */
export type RunSeries = Pick<RunRecord, 'id' | 'points'>;

const finite = (x: number | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

const lineKey = (run: string, s: SeriesSpec) => `${run}:${s.key}@${s.kind ?? 'train'}`;

function xOf(chart: ChartSpec, p: MetricPoint): number | undefined {
  const x = chart.x ? p.values[chart.x] : p.step;
  return chart.xScale === 'sqrt' && finite(x) ? Math.sqrt(Math.max(0, x)) : x;
}

/** The points of `runs` on `chart`: per point with a finite x, the values of the series of its kind. */
export function chartPoints(chart: ChartSpec, runs: readonly RunSeries[]): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const run of runs) {
    if (chart.runs && !chart.runs.includes(run.id)) continue;
    let drawn: MetricPoint[] = [];
    for (const p of run.points) {
      const x = xOf(chart, p);
      if (!finite(x)) continue;
      const values: Record<string, number> = {};
      for (const s of chart.series)
        if ((s.kind ?? 'train') === p.kind && finite(p.values[s.key])) values[lineKey(run.id, s)] = p.values[s.key];
      if (Object.keys(values).length > 0) drawn.push({ step: x, kind: 'train', values });
    }
    if (chart.style === 'points') drawn = drawn.slice(-1);
    points.push(...drawn);
  }
  return points.sort((a, b) => a.step - b.step);
}

/** The lines of a chart: each run of the lesson and each series that one of the point sets has. */
export function chartLines(chart: ChartSpec, info: LessonInfo, pointSets: readonly MetricPoint[][]): ChartLine[] {
  const keys = new Set(pointSets.flatMap((points) => points.flatMap((p) => Object.keys(p.values))));
  const multi = chart.series.length > 1;
  return info.runs.flatMap((run) =>
    chart.series
      .filter((s) => keys.has(lineKey(run.id, s)))
      .map((s) => ({ key: lineKey(run.id, s), label: multi ? `${run.label}: ${s.label}` : run.label })),
  );
}

/** A recorded lesson run's points again, from its run-history points (values `<run>:<metric>`, `<run>:step`). */
export function seriesFromHistory(points: readonly MetricPoint[], runIds: readonly string[]): RunSeries[] {
  return runIds.map((id) => {
    const prefix = `${id}:`;
    const own = points
      .filter((p) => finite(p.values[`${id}:step`]))
      .map((p) => {
        const values: Record<string, number> = {};
        for (const [k, v] of Object.entries(p.values)) if (k.startsWith(prefix) && k !== `${id}:step`) values[k.slice(prefix.length)] = v;
        return { step: p.values[`${id}:step`], kind: p.kind, values };
      });
    return { id, points: own };
  });
}
