/**
 * Each lesson's measured-result sentence, read from its runs' records (metric names: metrics.ts), and the
 * reading of a PPO run's gold peak that the over-optimisation lesson and its tests share.
 */
import { CONSTRAINT_KINDS } from '../data/instructionFollowing';
import { seriesOf, type RunRecord } from '../runs/record';
import { followingOf, M } from './metrics';
import { argmax, movingAverage, sqrtKl } from './stats';

/** Window of the moving average that the PPO lessons read the rollouts' gold, proxy and KL through. */
export const SMOOTHING = 5;

const NOT_RUN = 'Not run yet.';
const pct = (x: number) => `${Math.round(100 * x)} %`;
const f2 = (x: number) => x.toFixed(2);
const started = (r: RunRecord | undefined): r is RunRecord => !!r && r.points.length > 0;
const ppoRuns = (runs: RunRecord[]) => runs.filter((r) => r.stage === 'ppo' && started(r));

function last(record: RunRecord | undefined, metric: string): number {
  const { values } = seriesOf(record, metric);
  return values.length ? values[values.length - 1] : NaN;
}

/**
 * Where the gold score of a PPO run peaked, and how the run ended. Gold is read from the held-out evaluations
 * (eval points of objective/gold: fixed prompts and sampling seed, the SFT model at step 0) when the run has at
 * least three, else from the rollouts through a moving average; proxy (objective/scores) and sqrt(objective/kl)
 * from the rollouts through a moving average of SMOOTHING iterations.
 */
export function goldPeak(record: RunRecord): {
  peakStep: number;
  peakGold: number;
  peakSqrtKl: number;
  startGold: number;
  endGold: number;
  endSqrtKl: number;
  proxyStart: number;
  proxyEnd: number;
  proxyMax: number;
  fallShare: number;
  source: 'held-out' | 'rollouts';
} {
  const heldOut = seriesOf(record, M.gold, 'eval');
  const rollouts = seriesOf(record, M.gold, 'train');
  const useHeldOut = heldOut.values.length >= 3;
  const gold = useHeldOut ? heldOut : { steps: rollouts.steps, values: movingAverage(rollouts.values, SMOOTHING) };
  const proxy = movingAverage(seriesOf(record, M.scores, 'train').values, SMOOTHING);
  const kl = seriesOf(record, M.kl, 'train');
  const klSmooth = movingAverage(kl.values.map(sqrtKl), SMOOTHING);
  const klAt = (step: number) =>
    step <= 0
      ? 0
      : klSmooth[
          Math.max(
            0,
            kl.steps.findIndex((s) => s >= step),
          )
        ];
  const i = argmax(gold.values);
  const n = gold.values.length - 1;
  const startGold = useHeldOut
    ? gold.values[0]
    : rollouts.values.slice(0, SMOOTHING).reduce((s, x) => s + x, 0) / Math.min(SMOOTHING, rollouts.values.length);
  const gain = gold.values[i] - startGold;
  return {
    peakStep: gold.steps[i],
    peakGold: gold.values[i],
    peakSqrtKl: klAt(gold.steps[i]),
    startGold,
    endGold: gold.values[n],
    endSqrtKl: klAt(gold.steps[n]),
    proxyStart: proxy[0],
    proxyEnd: proxy[proxy.length - 1],
    proxyMax: Math.max(...proxy),
    fallShare: gain > 0 ? (gold.values[i] - gold.values[n]) / gain : 0,
    source: useHeldOut ? 'held-out' : 'rollouts',
  };
}

export function summariseFollowing(runs: RunRecord[], prompts: number): string {
  const r = runs.find((x) => x.stage === 'sft' && started(x));
  const share = seriesOf(r, M.following, 'eval');
  if (!r || share.values.length < 2) return NOT_RUN;
  const n = share.values.length - 1;
  const kinds = CONSTRAINT_KINDS.map((k) => ({ k, v: seriesOf(r, followingOf(k), 'eval').values }))
    .filter(({ v }) => v.length > n)
    .map(({ k, v }) => `${k} ${pct(v[0])} → ${pct(v[n])}`);
  return (
    `Instruction following went from ${pct(share.values[0])} (the pretrained model) to ${pct(share.values[n])} after ` +
    `${share.steps[n]} SFT steps (${kinds.join(', ')}), on ${prompts} ` +
    `held-out instructions; the validation loss went ${f2(seriesOf(r, M.sftValLoss).values[0])} → ${f2(last(r, M.sftValLoss))}.`
  );
}

export function summariseRankings(runs: RunRecord[]): string {
  const parts = runs.filter(started).map((r) => {
    const lab = seriesOf(r, M.pairAccuracy);
    const gold = seriesOf(r, M.goldPairAccuracy);
    const n = seriesOf(r, M.rankings).values;
    return (
      `${r.name}: held-out accuracy ${lab.values.map(f2).join(' → ')} against the labeler's rankings ` +
      `(${gold.values.map(f2).join(' → ')} against its true taste) for ${n.join(', ')} rankings; ` +
      `the labeler itself agrees with its taste on ${pct(last(r, M.labelerAgreement))} of those pairs`
    );
  });
  return parts.length ? parts.join('; ') + '.' : NOT_RUN;
}

export function summariseKWay(runs: RunRecord[]): string {
  const done = runs.filter(started);
  if (!done.length) return NOT_RUN;
  // the last budget that every run has reached (budgets are the same for every K)
  const i = Math.min(...done.map((r) => seriesOf(r, M.completionsRead).values.length)) - 1;
  const budget = seriesOf(done[0], M.completionsRead).values[i];
  const at = done.map(
    (r) => `${r.name} ${f2(seriesOf(r, M.goldPairAccuracy).values[i])} (${seriesOf(r, M.comparisons).values[i]} comparisons)`,
  );
  return `Held-out pair accuracy after reading about ${budget} completions: ${at.join(', ')}.`;
}

export function summariseOverOptimisation(runs: RunRecord[]): string {
  const parts = ppoRuns(runs).map((r) => {
    const p = goldPeak(r);
    if (p.peakStep === 0 || !(p.peakGold > p.startGold)) {
      return (
        `${r.name}: gold never rose above the SFT model's ${f2(p.startGold)} (the reward model is a poor proxy here); ` +
        `it ended at ${f2(p.endGold)} by sqrt KL ${f2(p.endSqrtKl)}, while the proxy went ${f2(p.proxyStart)} → ${f2(p.proxyEnd)}`
      );
    }
    return (
      `${r.name}: gold peaked at iteration ${p.peakStep} (sqrt KL ${f2(p.peakSqrtKl)}, gold ${f2(p.peakGold)}), then ` +
      (p.fallShare > 0 ? `fell ${pct(p.fallShare)} of its gain to ${f2(p.endGold)}` : `stayed at ${f2(p.endGold)}`) +
      ` by sqrt KL ${f2(p.endSqrtKl)}, while the proxy went ${f2(p.proxyStart)} → ${f2(p.proxyEnd)}`
    );
  });
  return parts.length
    ? parts.join('; ') + ` (gold on held-out prompts; proxy and KL as moving averages over ${SMOOTHING} iterations).`
    : NOT_RUN;
}

/** The last value of a rollout metric, through a moving average of SMOOTHING iterations. */
const smoothedEnd = (r: RunRecord, metric: string) => movingAverage(seriesOf(r, metric, 'train').values, SMOOTHING).at(-1)!;

export function summariseFrontier(runs: RunRecord[]): string {
  const ppo = ppoRuns(runs);
  if (!ppo.length) return NOT_RUN;
  const ends = ppo.map((r) => `${r.name}: KL ${f2(smoothedEnd(r, M.kl))}, gold ${f2(smoothedEnd(r, M.gold))}`);
  return `At the end (moving average over ${SMOOTHING} iterations): ${ends.join('; ')}.`;
}

export function summariseAlignmentTax(runs: RunRecord[]): string {
  const ppo = ppoRuns(runs);
  if (!ppo.length) return NOT_RUN;
  const parts = ppo.map((r) => {
    const loss = seriesOf(r, M.pretrainValLoss, 'eval').values;
    return `${r.name}: held-out pretraining loss ${f2(loss[0])} → ${f2(loss[loss.length - 1])}, gold ${f2(smoothedEnd(r, M.gold))} at the end`;
  });
  return parts.join('; ') + '.';
}

export function summariseWinRate(runs: RunRecord[], prompts: number): string {
  const r = runs.find((x) => x.stage === 'ppo' && started(x));
  const rate = seriesOf(r, M.winRate, 'eval');
  if (!r || rate.values.length < 2) return NOT_RUN;
  const n = rate.values.length - 1;
  return (
    `After ${rate.steps[n]} PPO iterations the policy wins ${pct(rate.values[n])} of ${prompts} held-out ` +
    `comparisons against the SFT model (95 % interval ${pct(last(r, M.winRateLow))}–${pct(last(r, M.winRateHigh))}); ` +
    `best along the way ${pct(Math.max(...rate.values))}.`
  );
}

/**
 * The DPO lesson: per method, held-out gold from its start to its end (and its best), the KL from SFT at its end and
 * the seconds of training it took (PPO-ptx's with its reward model's), all from the runs' eval points.
 */
export function summariseDpo(runs: RunRecord[], rankings: number, prompts: number): string {
  const method = (id: string, name: string) => {
    const r = runs.find((x) => x.id === id && started(x));
    const gold = seriesOf(r, M.gold, 'eval').values;
    if (!r || gold.length < 2) return null;
    const seconds = last(r, M.trainingSeconds);
    const rm = runs.find((x) => x.stage === 'reward' && started(x));
    const own = id === 'ppo-ptx' && rm ? ` (reward model ${last(rm, M.trainingSeconds).toFixed(0)} s)` : '';
    return (
      `${name} moved held-out gold ${f2(gold[0])} → ${f2(gold.at(-1)!)} (best ${f2(Math.max(...gold))}) ` +
      `at a KL from SFT of ${f2(last(r, M.kl))}, in ${seconds.toFixed(0)} s of training${own}`
    );
  };
  const parts = [method('dpo', 'DPO'), method('ppo-ptx', 'the reward model + PPO-ptx')].filter((p) => p !== null);
  if (!parts.length) return NOT_RUN;
  return (
    `On the same ${rankings} rankings, ${parts.join('; ')} ` +
    `(gold and KL of the responses to ${prompts} held-out prompts, sampled alike for both).`
  );
}

/** The frontier lesson's methods (their run ids), and the proxy each optimises, as its stage names it (DPO: none). */
const FRONTIER_NAMES: Record<string, string> = { 'best-of-n': 'best-of-n', 'ppo-ptx': 'PPO-ptx', dpo: 'DPO', grpo: 'GRPO' };
const PROXY_OF_STAGE: Record<string, string> = { best_of_n: 'reward', ppo: M.scores, grpo: 'reward' };
/** Below this KL from SFT (nats) a method has not moved: no gold per unit of KL is read from it. */
const MOVED_KL = 0.05;

interface FrontierReading {
  name: string;
  startGold: number;
  endGold: number;
  endKl: number;
  /** The first evaluation where gold fell while the proxy rose (mean over the steps since the evaluation before). */
  parted: { step: number; proxy: [number, number]; gold: [number, number] } | null;
}

/** A method run's held-out gold and KL at its evaluations, and where its proxy and gold parted. */
function frontierReading(r: RunRecord, name: string): FrontierReading | null {
  const evals = r.points.filter((p) => p.kind === 'eval' && Number.isFinite(p.values[M.gold]) && Number.isFinite(p.values[M.kl]));
  if (evals.length < 2) return null;
  const proxy = PROXY_OF_STAGE[r.stage];
  const trainProxy = r.points.filter((p) => p.kind === 'train' && proxy && Number.isFinite(p.values[proxy]));
  const windowMean = (from: number, to: number) => {
    const xs = trainProxy.filter((p) => p.step > from && p.step <= to).map((p) => p.values[proxy]);
    return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
  };
  let parted: FrontierReading['parted'] = null;
  for (let i = 2; i < evals.length && !parted; i++) {
    const [a, b, c] = [evals[i - 2], evals[i - 1], evals[i]];
    const before = windowMean(a.step, b.step);
    const now = windowMean(b.step, c.step);
    if (now > before && c.values[M.gold] < b.values[M.gold])
      parted = { step: c.step, proxy: [before, now], gold: [b.values[M.gold], c.values[M.gold]] };
  }
  const end = evals[evals.length - 1].values;
  return { name, startGold: evals[0].values[M.gold], endGold: end[M.gold], endKl: end[M.kl], parted };
}

/**
 * The frontier lesson: each method's final held-out gold and KL from SFT, the one that bought the most gold per nat of KL
 * (gold gained from its start over its final KL), and where proxy and gold parted (the gold fell while the proxy rose).
 */
export function summariseMethodFrontier(runs: RunRecord[], prompts: number): string {
  const readings = Object.entries(FRONTIER_NAMES)
    .map(([id, name]) => {
      const r = runs.find((x) => x.id === id && started(x));
      return r ? frontierReading(r, name) : null;
    })
    .filter((x): x is FrontierReading => x !== null);
  if (!readings.length) return NOT_RUN;
  const ends = readings.map((m) => `${m.name} ${f2(m.startGold)} → ${f2(m.endGold)} at KL ${f2(m.endKl)}`).join('; ');
  const moved = readings.filter((m) => m.endKl > MOVED_KL);
  const perKl = (m: FrontierReading) => (m.endGold - m.startGold) / m.endKl;
  const best = moved.length ? moved[argmax(moved.map(perKl))] : null;
  const bestLine = best
    ? `${best.name} bought the most gold per unit of KL here: ${f2(perKl(best))} per nat (${moved
        .filter((m) => m !== best)
        .map((m) => `${m.name} ${f2(perKl(m))}`)
        .join(', ')}).`
    : 'No method moved from the SFT model (KL under 0.05 nats).';
  const parted = readings.filter((m) => m.parted);
  const partedLine = parted.length
    ? `Proxy and gold parted for ${parted
        .map(
          (m) =>
            `${m.name} at step ${m.parted!.step} (proxy ${f2(m.parted!.proxy[0])} → ${f2(m.parted!.proxy[1])}, gold ${f2(m.parted!.gold[0])} → ${f2(m.parted!.gold[1])})`,
        )
        .join('; ')}.`
    : 'Nowhere here did the gold fall while the proxy rose.';
  return `Held-out gold (start → end) and final KL from SFT on ${prompts} prompts: ${ends}. ${bestLine} ${partedLine}`;
}
