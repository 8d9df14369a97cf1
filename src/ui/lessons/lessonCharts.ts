/**
 * A lesson's chart as MetricChart draws it: one line per run and metric, keyed `<run>:<metric>`, with the
 * chart's x metric as each point's step (sorted, as the chart expects). The same for a recorded lesson run
 * (run history points, values under `<run>:<metric>`), so that earlier runs overlay the live one. Pure.
 */
import type { ChartSpec, RunRecord, SeriesPoint } from '../../lib/lessons/types';
import type { LessonInfo, MetricPoint } from '../../lib/types';

export interface ChartLine {
  key: string;
  label: string;
}

/** A run's series, as far as a chart needs it: which run, and its points. */
export type RunSeries = Pick<RunRecord, 'id' | 'series'>;

const finite = (x: number | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

function xOf(chart: ChartSpec, p: SeriesPoint): number | undefined {
  return chart.x === 'step' ? p.step : p.values[chart.x];
}

/** The points of `runs` on `chart`: per series point with a finite x, the y values under `<run>:<metric>`. */
export function chartPoints(chart: ChartSpec, runs: readonly RunSeries[]): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const run of runs) {
    if (chart.runs && !chart.runs.includes(run.id)) continue;
    let series = run.series.filter((p) => finite(xOf(chart, p)) && chart.y.some((y) => finite(p.values[y])));
    if (chart.style === 'points') series = series.slice(-1);
    for (const p of series) {
      const values: Record<string, number> = {};
      for (const y of chart.y) if (finite(p.values[y])) values[`${run.id}:${y}`] = p.values[y];
      points.push({ step: xOf(chart, p)!, kind: 'train', values });
    }
  }
  return points.sort((a, b) => a.step - b.step);
}

/** The lines of a chart: each run of the lesson and each y metric that one of the point sets has. */
export function chartLines(chart: ChartSpec, info: LessonInfo, pointSets: readonly MetricPoint[][]): ChartLine[] {
  const keys = new Set(pointSets.flatMap((points) => points.flatMap((p) => Object.keys(p.values))));
  const multi = chart.y.length > 1;
  return info.runs.flatMap((run) =>
    chart.y
      .filter((y) => keys.has(`${run.id}:${y}`))
      .map((y) => ({ key: `${run.id}:${y}`, label: multi ? `${run.label}: ${y}` : run.label })),
  );
}

/** A recorded lesson run's series again, from its run-history points (values `<run>:<metric>`, `<run>:step`). */
export function seriesFromHistory(points: readonly MetricPoint[], runIds: readonly string[]): RunSeries[] {
  return runIds.map((id) => {
    const prefix = `${id}:`;
    const series = points
      .filter((p) => finite(p.values[`${id}:step`]))
      .map((p) => {
        const values: Record<string, number> = {};
        for (const [k, v] of Object.entries(p.values)) if (k.startsWith(prefix) && k !== `${id}:step`) values[k.slice(prefix.length)] = v;
        return { step: p.values[`${id}:step`], values };
      });
    return { id, series };
  });
}
