/**
 * A lesson's chart as MetricChart draws it: one line per run and series, keyed `<run>:<metric>@<kind>`, with
 * the chart's x metric (read from the same point) as each point's step (sorted, as the chart expects). The
 * same for a recorded lesson run (run-history points, values under `<run>:<metric>`), so that earlier runs
 * overlay the live one. A chart's `fits` add, per named run, the dashed curve of Gao et al.'s form fitted through
 * its points of the first series (`<run>:fit`). Pure.
 */
import { fitGao, gaoGold } from '../../lib/lessons/gaoFits';
import type { MetricPoint, RunRecord } from '../../lib/runs/record';
import type { ChartSpec, GaoForm, LessonInfo, SeriesSpec } from '../../lib/types';

export interface ChartLine {
  key: string;
  label: string;
  /** A fitted curve rather than measured points. */
  dashed?: boolean;
}

/** Points along a fitted curve, from d = 0 to the run's last x. */
const FIT_POINTS = 24;

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
    const form = chart.fits?.find((f) => f.run === run.id)?.form;
    points.push(...drawn, ...(form ? fitCurve(chart, run.id, form, drawn) : []));
  }
  return points.sort((a, b) => a.step - b.step);
}

const fitKey = (run: string) => `${run}:fit`;

/** The fitted curve of `form` through a run's drawn points of the chart's first series (none when it cannot be fitted). */
function fitCurve(chart: ChartSpec, run: string, form: GaoForm, drawn: MetricPoint[]): MetricPoint[] {
  const key = lineKey(run, chart.series[0]);
  const measured = drawn.filter((p) => finite(p.values[key])).map((p) => ({ d: p.step, gold: p.values[key] }));
  const fit = fitGao(measured, form);
  if (!fit) return [];
  const end = Math.max(...measured.map((p) => p.d));
  return Array.from({ length: FIT_POINTS + 1 }, (_, i) => {
    const d = (end * i) / FIT_POINTS;
    return { step: d, kind: 'train' as const, values: { [fitKey(run)]: gaoGold(fit, d) } };
  });
}

/** The lines of a chart: each run of the lesson and each series that one of the point sets has. */
export function chartLines(chart: ChartSpec, info: LessonInfo, pointSets: readonly MetricPoint[][]): ChartLine[] {
  const keys = new Set(pointSets.flatMap((points) => points.flatMap((p) => Object.keys(p.values))));
  const multi = chart.series.length > 1;
  return info.runs.flatMap((run) => {
    const measured = chart.series
      .filter((s) => keys.has(lineKey(run.id, s)))
      .map((s) => ({ key: lineKey(run.id, s), label: multi ? `${run.label}: ${s.label}` : run.label }));
    const form = chart.fits?.find((f) => f.run === run.id)?.form;
    const fitted =
      form && keys.has(fitKey(run.id)) ? [{ key: fitKey(run.id), label: `${run.label}: fit, ${FIT_NAMES[form]}`, dashed: true }] : [];
    return [...measured, ...fitted];
  });
}

const FIT_NAMES: Record<GaoForm, string> = { 'best-of-n': 'd(α − βd)', rl: 'd(α − β log d)' };

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
