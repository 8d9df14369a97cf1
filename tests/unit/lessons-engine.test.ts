/** The lesson engine without training: Wilson intervals, smoothing, the descriptors, summaries and the runner's checks. */
import { describe, expect, it } from 'vitest';
import {
  argmax,
  buildLessons,
  goldPeak,
  LESSONS,
  LessonRunner,
  movingAverage,
  sizesFor,
  sqrtKl,
  TINY_SIZES,
  wilsonInterval,
  type RunRecord,
} from '../../src/lib/lessons';
import { BUILT_IN_STAGES } from '../../src/lib/stages/registry';
import { chartPoints, seriesFromHistory } from '../../src/ui/lessons/lessonCharts';
import type { LessonContext } from '../../src/lib/lessons';
import type { MetricPoint } from '../../src/lib/runs/record';

describe('wilsonInterval', () => {
  it('matches the textbook values', () => {
    // 8 of 10: Wilson 95 % interval [0.490, 0.943]
    const w = wilsonInterval(8, 10);
    expect(w.share).toBeCloseTo(0.8, 10);
    expect(w.low).toBeCloseTo(0.4902, 3);
    expect(w.high).toBeCloseTo(0.9433, 3);
    // 0 of 20: [0, 0.161]
    expect(wilsonInterval(0, 20).low).toBe(0);
    expect(wilsonInterval(0, 20).high).toBeCloseTo(0.1611, 3);
    // symmetric around one half, narrower with more trials, fractional successes (ties) accepted
    const half = wilsonInterval(24, 48);
    expect(half.low + half.high).toBeCloseTo(1, 10);
    expect(wilsonInterval(240, 480).high - wilsonInterval(240, 480).low).toBeLessThan(half.high - half.low);
    expect(wilsonInterval(10.5, 20).share).toBeCloseTo(0.525, 10);
    expect(() => wilsonInterval(11, 10)).toThrow();
    expect(wilsonInterval(0, 0)).toMatchObject({ low: 0, high: 1 });
  });
});

describe('series helpers', () => {
  it('smooths, finds peaks and takes sqrt of KL', () => {
    expect(movingAverage([1, 3, 5, 7], 2)).toEqual([1, 2, 4, 6]);
    expect(argmax([1, NaN, 3, 3, 2])).toBe(2);
    expect(argmax([])).toBe(-1);
    expect(sqrtKl(9)).toBe(3);
    expect(sqrtKl(-0.2)).toBe(0);
  });

  it('goldPeak reads held-out gold: a peak and a fall, with the proxy still rising', () => {
    const gold = [0.4, 0.6, 0.9, 0.5, 0.3];
    const record: RunRecord = {
      id: 'beta-0',
      name: 'PPO, beta = 0',
      stage: 'ppo',
      settings: LESSONS[3].runs[1].settings,
      seed: null,
      lineage: [],
      color: '',
      hidden: false,
      state: 'done',
      startedAt: 0,
      endedAt: null,
      totalSteps: 8,
      stepsDone: 8,
      seconds: 0,
      samples: [],
      points: [
        { step: 0, kind: 'eval', values: { 'objective/gold': gold[0] } },
        ...Array.from({ length: 8 }, (_, i): MetricPoint[] => [
          { step: i + 1, kind: 'train', values: { 'objective/gold': 0, 'objective/scores': i, 'objective/kl': i * i } },
          ...((i + 1) % 2 === 0 ? [{ step: i + 1, kind: 'eval' as const, values: { 'objective/gold': gold[(i + 1) / 2] } }] : []),
        ]).flat(),
      ],
    };
    const p = goldPeak(record);
    expect(p.source).toBe('held-out');
    expect(p.peakStep).toBe(4);
    expect(p.peakGold).toBe(0.9);
    expect(p.fallShare).toBeCloseTo(1.2, 10); // (0.9 - 0.3) / (0.9 - 0.4)
    expect(p.proxyEnd).toBe(p.proxyMax);
    expect(LESSONS[3].summarise([record])).toMatch(/gold peaked at iteration 4 .* then fell 120 % of its gain/);
  });
});

describe('lesson descriptors', () => {
  it('has the seven lessons of issue #11, the DPO lesson, the two of issue 23 and issue 24’s, each with runs, charts and a summary before running', () => {
    expect(LESSONS.map((l) => l.id)).toEqual([
      'instruction-following',
      'rankings',
      'k-way',
      'over-optimisation',
      'kl-frontier',
      'alignment-tax',
      'win-rate',
      'dpo',
      'verifiable-reward',
      'method-frontier',
      'made-up-facts',
    ]);
    for (const lesson of LESSONS) {
      expect(lesson.runs.length).toBeGreaterThan(0);
      expect(lesson.charts.length).toBeGreaterThan(0);
      expect(lesson.explanation.length).toBeGreaterThan(50);
      expect(lesson.paperFinding.length).toBeGreaterThan(50);
      expect(lesson.summarise([])).toBe('Not run yet.');
    }
    const frontier = LESSONS.find((l) => l.id === 'kl-frontier')!;
    expect(frontier.runs.filter((r) => r.stage === 'ppo').map((r) => r.settings.kl_coef)).toEqual([0, 0.01, 0.05, 0.2]);
    const kWay = LESSONS.find((l) => l.id === 'k-way')!;
    // the same reading effort (completions read) for K = 2, 4, 9
    const budgets = kWay.runs.map((r) => (r.sweep && r.rankings ? r.sweep.map((n) => n * r.rankings!.k) : []));
    expect(budgets[0]).toEqual(budgets[1]);
    expect(budgets[0]).toEqual(budgets[2]);
  });

  it('the runner counts steps over runs and rejects a PPO run whose reward model no run makes', () => {
    const ctx = {} as LessonContext; // not touched before the first step
    const lesson = LESSONS.find((l) => l.id === 'over-optimisation')!;
    const runner = new LessonRunner(lesson, ctx);
    expect(runner.totalSteps).toBe(runner.records.reduce((s, r) => s + r.totalSteps, 0));
    expect(runner.currentRun?.id).toBe('reward-model');
    expect(() => new LessonRunner({ ...lesson, runs: lesson.runs.slice(1) }, ctx)).toThrow(/reward model "rm"/);
    // a run from a policy that no earlier run makes (the made-up-facts lesson's DPO without its SFT)
    const madeUp = LESSONS.find((l) => l.id === 'made-up-facts')!;
    expect(() => new LessonRunner({ ...madeUp, runs: madeUp.runs.slice(1) }, ctx)).toThrow(/starts from policy "sft"/);
  });
});

describe('the DPO lesson', () => {
  const lesson = LESSONS.find((l) => l.id === 'dpo')!;
  const byId = (id: string) => lesson.runs.find((r) => r.id === id)!;

  it('trains DPO and the reward model on the same rankings, and measures DPO and PPO-ptx alike', () => {
    expect(lesson.runs.map((r) => [r.id, r.stage])).toEqual([
      ['dpo', 'dpo'],
      ['reward-model', 'reward'],
      ['ppo-ptx', 'ppo'],
    ]);
    const [dpo, rm, ppo] = ['dpo', 'reward-model', 'ppo-ptx'].map(byId);
    expect(dpo.rankings).toEqual(rm.rankings); // same spec and seed: the same rankings
    expect(dpo.settings.held_out_share).toBe(0); // every ranking trains, as the reward model's
    expect(ppo.reward).toBe(rm.produces);
    expect(ppo.settings.ptx_coef).toBeGreaterThan(0);
    // the same held-out prompts, tokens, temperature and seed; KL from SFT on those samples
    expect(dpo.evaluations).toEqual(ppo.evaluations);
    expect(dpo.evaluations.map((e) => e.kind)).toEqual(['held-out-gold', 'kl-from-sft']);
    for (const e of dpo.evaluations) expect(e).toMatchObject({ prompts: 32, temperature: 1, seed: expect.any(Number) });
    expect(lesson.charts.map((c) => [c.id, c.x, c.runs])).toEqual([
      ['gold-vs-kl', 'objective/kl', ['dpo', 'ppo-ptx']],
      ['gold-vs-time', 'time/training_s', ['dpo', 'ppo-ptx']],
    ]);
  });

  it('charts one point per evaluation of both methods and says what was measured', () => {
    const record = (id: string, stage: string, points: MetricPoint[]): RunRecord => ({
      ...({} as RunRecord),
      id,
      name: id,
      stage,
      points,
      samples: [],
    });
    const ev = (step: number, gold: number, kl: number, seconds: number): MetricPoint => ({
      step,
      kind: 'eval',
      values: { 'objective/gold': gold, 'objective/kl': kl, 'time/training_s': seconds },
    });
    const runs = [
      record('dpo', 'dpo', [ev(0, 0.4, 0, 0), { step: 1, kind: 'train', values: { loss: 0.6 } }, ev(8, 0.55, 1.2, 4), ev(16, 0.5, 2.5, 8)]),
      record('reward-model', 'reward', [{ step: 32, kind: 'eval', values: { 'time/training_s': 30 } }]),
      record('ppo-ptx', 'ppo', [
        ev(0, 0.4, 0, 30),
        { step: 1, kind: 'train', values: { 'objective/gold': 0.9, 'objective/kl': 9 } },
        ev(4, 0.62, 3.25, 50),
      ]),
    ];
    const vsKl = chartPoints(lesson.charts[0], runs);
    expect(vsKl.map((p) => [p.step, Object.values(p.values)[0]])).toEqual([
      [0, 0.4],
      [0, 0.4],
      [1.2, 0.55],
      [2.5, 0.5],
      [3.25, 0.62],
    ]); // eval points only: the rollouts' gold and KL (train) are not drawn
    expect(chartPoints(lesson.charts[1], runs).map((p) => p.step)).toEqual([0, 4, 8, 30, 50]);
    expect(lesson.summarise(runs)).toBe(
      `On the same ${TINY_SIZES.dpo.rankings} rankings, DPO moved held-out gold 0.40 → 0.50 (best 0.55) at a KL from SFT of 2.50, in 8 s of ` +
        'training; the reward model + PPO-ptx moved held-out gold 0.40 → 0.62 (best 0.62) at a KL from SFT of 3.25, in 50 s of training ' +
        `(reward model 30 s) (gold and KL of the responses to ${TINY_SIZES.dpo.prompts} held-out prompts, sampled alike for both).`,
    );
    expect(lesson.summarise(runs.slice(1))).toMatch(/^On the same \d+ rankings, the reward model \+ PPO-ptx moved/);
  });
});

describe('lessons compose the registry stages', () => {
  it('every run at every size names a registered stage and settings that its descriptor accepts', () => {
    const ctx = {} as LessonContext; // not touched before the first step
    for (const name of ['tiny', 'mini', 'mini-cpu', 'quick'] as const) {
      for (const lesson of buildLessons(sizesFor(name))) {
        const runner = new LessonRunner(lesson, ctx); // checks each run's settings against its descriptor's spec
        expect(runner.totalSteps).toBeGreaterThan(0);
        for (const r of lesson.runs) expect(BUILT_IN_STAGES.map((d) => d.name)).toContain(r.stage);
      }
    }
    const lesson = LESSONS.find((l) => l.id === 'win-rate')!;
    const bad = { ...lesson, runs: [{ ...lesson.runs[0], settings: { ...lesson.runs[0].settings, kl_coef: -1 } }] };
    expect(() => new LessonRunner(bad, ctx)).toThrow(/between/);
    const unknown = { ...lesson, runs: [{ ...lesson.runs[0], stage: 'no-such-stage' }] };
    expect(() => new LessonRunner(unknown, ctx)).toThrow(/no registered stage/);
  });

  it('charts name the metrics the stages emit (TRL names, objective/gold), not lesson renames', () => {
    const keys = LESSONS.flatMap((l) => l.charts.flatMap((c) => [...c.series.map((s) => s.key), ...(c.x ? [c.x] : [])]));
    for (const renamed of ['gold', 'proxy', 'kl', 'sqrt_kl', 'gold/held_out', 'pretrain_loss/held_out'])
      expect(keys).not.toContain(renamed);
    expect(keys).toEqual(expect.arrayContaining(['objective/gold', 'objective/scores', 'objective/kl', 'pretrain/val_loss']));
  });
});

describe('lesson charts (src/ui/lessons/lessonCharts.ts)', () => {
  const point = (step: number, kind: 'train' | 'eval', values: Record<string, number>): MetricPoint => ({ step, kind, values });
  const run = {
    id: 'beta-0',
    points: [
      point(0, 'eval', { 'objective/gold': 0.4 }),
      point(1, 'train', { 'objective/gold': 0.5, 'objective/scores': 1, 'objective/kl': 4 }),
      point(2, 'train', { 'objective/gold': 0.7, 'objective/scores': 2, 'objective/kl': 9 }),
      point(2, 'eval', { 'objective/gold': 0.6 }),
    ],
  };

  it('draws each series from points of its kind, against sqrt(KL) or the step, one point per run for a frontier', () => {
    const overOpt = LESSONS.find((l) => l.id === 'over-optimisation')!;
    const vsKl = chartPoints(
      overOpt.charts.find((c) => c.id === 'gold-vs-kl')!,
      [run],
    );
    expect(vsKl.map((p) => p.step)).toEqual([2, 3]); // sqrt(4), sqrt(9)
    expect(vsKl[1].values).toEqual({ 'beta-0:objective/scores@train': 2, 'beta-0:objective/gold@train': 0.7 });
    const vsStep = chartPoints(
      overOpt.charts.find((c) => c.id === 'gold-vs-step')!,
      [run],
    );
    expect(vsStep.filter((p) => 'beta-0:objective/gold@eval' in p.values).map((p) => p.step)).toEqual([0, 2]);
    const frontier = chartPoints(LESSONS.find((l) => l.id === 'kl-frontier')!.charts[0], [run]);
    expect(frontier).toEqual([{ step: 9, kind: 'train', values: { 'beta-0:objective/gold@train': 0.7 } }]);
  });

  it('reads a recorded lesson run back from the run history, kinds and all', () => {
    const history = run.points.map((p, i) => ({
      step: i + 1,
      kind: p.kind,
      values: { 'beta-0:step': p.step, ...Object.fromEntries(Object.entries(p.values).map(([k, v]) => [`beta-0:${k}`, v])) },
    }));
    expect(seriesFromHistory(history, ['beta-0'])).toEqual([run]);
  });
});
