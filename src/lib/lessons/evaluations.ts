/**
 * What a lesson run measures beyond its stage's own metrics (LessonRunSpec.evaluations), with the functions the
 * stages use: held-out pair accuracy as the reward stage counts it (scorePairs, pairMetrics, clusteredWilson),
 * the labeler's gold and judgement (rankCompletions, as its rankings), the pretrain stage's held-out loss and SFT's
 * instruction-following measure (also as pass@k, Chen et al. 2021). Returns eval-point values under the names of metrics.ts; keeps sample sets.
 */
import { CONSTRAINT_KINDS } from '../data/instructionFollowing';
import { pairAgreement } from '../data/labelers';
import { Rng } from '../data/rng';
import type { GPT } from '../model/gpt';
import { followingPrompts, measureInstructionFollowing } from '../rlhf/instructionEval';
import { pairMetrics, type Ranking } from '../rlhf/rankings';
import { scorePairs, type RewardModel } from '../rlhf/rewardModel';
import { encodePair } from '../rlhf/sequences';
import { clusteredWilson } from '../rlhf/stats';
import type { RunRecord, SampleSet } from '../runs/record';
import type { SettingValues } from '../settings';
import type { Metrics } from '../train/loop';
import { heldOutLoss } from '../train/pretrain';
import { judgePairs, klFromReference, labelerRankings, sampleResponsesOf } from './data';
import { measureMadeUpFacts } from './madeUpEval';
import { followingOf, M, passAt } from './metrics';
import { mean, passAtK, wilsonInterval } from './stats';
import type { Evaluation, LessonContext, LessonRunSpec, RankingSpec } from './types';

/** Rows per scoring call of the held-out pairs. */
const SCORE_ROWS = 64;
/** Seed of the instruction-following samples (the same draws before and after training). */
const FOLLOWING_SEED = 101;
/** Seed of the pass@k samples (the same draws at every evaluation, apart from the instruction-following ones). */
const PASS_SEED = 202;
/** Seed of the made-up-facts samples (the same draws at every evaluation). */
const MADE_UP_SEED = 303;

/** What is evaluated: the policy being trained, or the reward model; and the step it has reached. */
export interface EvaluationTarget {
  policy?: GPT;
  rewardModel?: RewardModel;
  step: number;
}

const find = <K extends Evaluation['kind']>(spec: LessonRunSpec, kind: K) =>
  spec.evaluations.find((e): e is Extract<Evaluation, { kind: K }> => e.kind === kind);

export class RunEvaluations {
  private heldOut: Ranking[] | null = null;
  private agreement = NaN;
  private sftTexts: string[] | null = null;
  private bestGold = -Infinity;
  private readonly judgeRng: Rng;
  private readonly following: string[];
  private readonly passPrompts: string[];

  constructor(
    private readonly spec: LessonRunSpec,
    private readonly settings: SettingValues,
    private readonly ctx: LessonContext,
    private readonly record: RunRecord,
  ) {
    this.judgeRng = new Rng(this.seed + 4242);
    this.following = followingPrompts(ctx.heldOutPrompts, find(spec, 'instruction-following')?.prompts ?? 0);
    this.passPrompts = followingPrompts(ctx.heldOutPrompts, find(spec, 'pass-at-k')?.prompts ?? 0);
  }

  /** Whether the run evaluates a policy (then also before its first step: where it starts from). */
  get ofPolicy(): boolean {
    return this.spec.evaluations.some((e) => e.kind !== 'ranking-accuracy');
  }

  private get seed(): number {
    return Number(this.settings.seed ?? 1);
  }

  async evaluate(target: EvaluationTarget): Promise<Metrics> {
    const values: Metrics = {};
    const accuracy = find(this.spec, 'ranking-accuracy');
    if (accuracy && target.rewardModel) Object.assign(values, await this.rankingAccuracy(target.rewardModel, accuracy));
    if (!target.policy) return values;
    const loss = find(this.spec, 'pretrain-loss');
    if (loss && loss.batches > 0 && this.ctx.heldOutPretrainTokens) {
      values[M.pretrainValLoss] = await heldOutLoss(target.policy, this.ctx.heldOutPretrainTokens, 8, loss.batches, 1);
    }
    Object.assign(values, await this.goldAndWinRate(target.policy, target.step));
    if (this.following.length > 0) Object.assign(values, await this.instructionFollowing(target.policy, target.step));
    if (this.passPrompts.length > 0) Object.assign(values, await this.passAtK(target.policy));
    const madeUp = find(this.spec, 'made-up-facts');
    if (madeUp && madeUp.prompts > 0) Object.assign(values, await this.madeUpFacts(target.policy, target.step, madeUp));
    return values;
  }

  /** The labeler's rankings of held-out prompts: the run's ranking settings at K = `k`, a seed 1000 apart from its training ones. */
  private async heldOutRankings(count: number, k: number): Promise<Ranking[]> {
    if (!this.heldOut) {
      const { ctx } = this;
      const spec: RankingSpec = { ...this.spec.rankings!, k, seed: this.spec.rankings!.seed + 1000 };
      this.heldOut = await labelerRankings(
        ctx.policy,
        ctx.tokenizer,
        ctx.labeler,
        ctx.heldOutPrompts,
        count,
        spec,
        `${this.spec.id}-held-out`,
      );
      // the labeler's agreement with its own gold order on these rankings: the ceiling of the accuracy against them
      this.agreement = pairAgreement(
        ctx.labeler,
        this.heldOut.map((r) => r.completions),
        this.heldOut.map((r) => r.order),
      );
    }
    return this.heldOut;
  }

  /** Held-out pair accuracy (clustered 95 % interval) against the labeler's rankings, and against its gold order. */
  private async rankingAccuracy(rm: RewardModel, e: Extract<Evaluation, { kind: 'ranking-accuracy' }>): Promise<Metrics> {
    if (e.rankings <= 0) return {};
    const { tokenizer, labeler } = this.ctx;
    const heldOut = await this.heldOutRankings(e.rankings, e.k);
    const pairs = heldOut.flatMap((r) => r.completions.map((c) => encodePair(tokenizer, r.prompt, c, true)));
    const time = Math.min(rm.trunk.config.blockSize, Math.max(...pairs.map((p) => p.prompt.length + p.response.length)));
    const scores = await scorePairs(rm, pairs, time, tokenizer.eosId, SCORE_ROWS);
    const byLabeler: { correct: number; pairs: number }[] = [];
    const byGold: { correct: number; pairs: number }[] = [];
    let offset = 0;
    for (const r of heldOut) {
      const s = scores.slice(offset, (offset += r.completions.length));
      const golds = r.completions.map((c) => labeler.gold(c));
      const goldOrder = golds.map((_, i) => i).sort((a, b) => golds[b] - golds[a]);
      byLabeler.push(pairMetrics(s, r.order));
      byGold.push(pairMetrics(s, goldOrder, (w, l) => golds[w] === golds[l]));
    }
    const acc = clusteredWilson(byLabeler);
    const gold = clusteredWilson(byGold);
    return {
      [M.pairAccuracy]: acc.n > 0 ? acc.share : 0,
      [`${M.pairAccuracy}_low`]: acc.low,
      [`${M.pairAccuracy}_high`]: acc.high,
      [M.goldPairAccuracy]: gold.n > 0 ? gold.share : 0,
      [M.labelerAgreement]: this.agreement,
    };
  }

  /**
   * Held-out gold, KL from the SFT model and the win rate against it (the SFT model: the context's policy), from one set
   * of samples of the longest prompt list they ask for (each a prefix of the held-out prompts).
   */
  private async goldAndWinRate(policy: GPT, step: number): Promise<Metrics> {
    const { ctx } = this;
    const gold = find(this.spec, 'held-out-gold');
    const kl = find(this.spec, 'kl-from-sft');
    const win = find(this.spec, 'win-rate');
    const goldPrompts = ctx.heldOutPrompts.slice(0, gold?.prompts ?? 0);
    const klPrompts = ctx.heldOutPrompts.slice(0, kl?.prompts ?? 0);
    const winPrompts = ctx.heldOutPrompts.slice(0, win?.prompts ?? 0);
    const prompts = [goldPrompts, klPrompts, winPrompts].reduce((a, b) => (b.length > a.length ? b : a));
    if (prompts.length === 0) return {};
    const sampling = { ...win, ...kl, ...gold };
    const length = sampling.responseLength ?? Number(this.settings.response_length);
    const temperature = sampling.temperature ?? Number(this.settings.temperature);
    if (!Number.isFinite(length) || !Number.isFinite(temperature)) {
      throw new Error(`lesson run ${this.spec.id}: say how its evaluations sample (responseLength, temperature)`);
    }
    const evalSeed = 977 + (sampling.seed ?? this.seed);
    const sampled = await sampleResponsesOf(policy, ctx.tokenizer, prompts, length, temperature, evalSeed);
    const { texts } = sampled;
    const values: Metrics = {};
    if (goldPrompts.length > 0) {
      const golds = texts.slice(0, goldPrompts.length).map((t) => ctx.labeler.gold(t));
      values[M.gold] = mean(golds);
      if (this.spec.keepSamples)
        this.keepSamples(
          step,
          values[M.gold],
          goldPrompts.map((prompt, i) => ({ prompt, response: texts[i], gold: golds[i] })),
        );
    }
    if (klPrompts.length > 0) {
      const ofKl = { ...sampled, pairs: sampled.pairs.slice(0, klPrompts.length) };
      values[M.kl] = mean(await klFromReference(policy, ctx.policy, ctx.tokenizer.eosId, ofKl));
    }
    if (winPrompts.length > 0) {
      this.sftTexts ??= (await sampleResponsesOf(ctx.policy, ctx.tokenizer, winPrompts, length, temperature, evalSeed)).texts;
      // the judge is the same labeler, noiseless (the gold order; ties count half)
      const { wins, n } = judgePairs(ctx.labeler, texts.slice(0, winPrompts.length), this.sftTexts, 1, this.judgeRng);
      const w = wilsonInterval(wins, n);
      Object.assign(values, { [M.winRate]: w.share, [M.winRateLow]: w.low, [M.winRateHigh]: w.high });
    }
    return values;
  }

  /**
   * Keeps two sample sets: those of the evaluation with the highest gold so far and the latest, the policy's
   * responses to the same held-out prompts side by side.
   */
  private keepSamples(step: number, gold: number, items: SampleSet['items']): void {
    let best = this.record.samples.find((x) => x.label.startsWith('highest gold'));
    if (gold > this.bestGold) {
      this.bestGold = gold;
      best = { label: `highest gold (iteration ${step})`, step, items };
    }
    this.record.samples = [...(best ? [best] : []), { label: `latest (iteration ${step})`, step, items }];
  }

  /**
   * The share of the named constraints of fixed held-out instructions that responses sampled with a fixed seed honour,
   * overall and per kind; keeps the responses before training and the latest side by side.
   */
  private async instructionFollowing(policy: GPT, step: number): Promise<Metrics> {
    const tokens = find(this.spec, 'instruction-following')!.tokens;
    const report = await measureInstructionFollowing(policy, this.ctx.tokenizer, this.following, {
      maxNewTokens: tokens > 0 ? tokens : undefined,
      seed: FOLLOWING_SEED,
    });
    const values: Metrics = { [M.following]: report.share };
    for (const kind of CONSTRAINT_KINDS) {
      const k = report.byKind[kind];
      if (k.total > 0) values[followingOf(kind)] = k.honoured / k.total;
    }
    const items = this.following.map((prompt, i) => {
      const { honoured, total } = report.scores[i];
      return { prompt, response: report.responses[i], gold: honoured / total, badge: `follows ${honoured} of ${total}` };
    });
    const steps = (what: string) => `after ${step} ${what}${step === 1 ? '' : 's'}`;
    const sft = this.spec.stage === 'sft';
    const label =
      step === 0 ? (sft ? 'before SFT (the pretrained model)' : 'before training (the starting model)') : steps(sft ? 'SFT step' : 'step');
    const set: SampleSet = { label, step, items };
    this.record.samples = step === 0 ? [set] : [this.record.samples[0], set];
    return values;
  }

  /**
   * Made-up facts and per-family correctness of responses to the first held-out prompts (closed-domain ones in a tasks
   * context), the same draws each time; keeps the responses of the first evaluation and the latest side by side.
   */
  private async madeUpFacts(policy: GPT, step: number, e: Extract<Evaluation, { kind: 'made-up-facts' }>): Promise<Metrics> {
    const responseLength = e.responseLength ?? Number(this.settings.response_length);
    const temperature = e.temperature ?? Number(this.settings.temperature ?? 1);
    const prompts = this.ctx.heldOutPrompts.slice(0, e.prompts);
    const seed = MADE_UP_SEED + (e.seed ?? 0);
    const { values, items } = await measureMadeUpFacts(policy, this.ctx.tokenizer, prompts, { responseLength, temperature, seed });
    const first = this.record.samples[0];
    const set: SampleSet = { label: step === 0 ? 'before training (the starting model)' : `after ${step} steps`, step, items };
    this.record.samples = step === 0 || !first ? [set] : [first, set];
    return values;
  }

  /**
   * pass@1 and pass@k (Chen et al. 2021's unbiased estimator, n = k samples): k responses to each held-out instruction
   * (a fixed seed); one passes when it honours at least the threshold (default: all) of what its instruction named.
   */
  private async passAtK(policy: GPT): Promise<Metrics> {
    const e = find(this.spec, 'pass-at-k')!;
    const threshold = e.threshold ?? 1;
    const repeated = this.passPrompts.flatMap((p) => Array<string>(e.k).fill(p));
    const report = await measureInstructionFollowing(policy, this.ctx.tokenizer, repeated, {
      maxNewTokens: e.tokens > 0 ? e.tokens : undefined,
      seed: PASS_SEED,
    });
    // a share within rounding of the threshold passes (4 of 5 is 0.8 whichever way it was divided)
    const passes = this.passPrompts.map(
      (_, i) => report.scores.slice(i * e.k, (i + 1) * e.k).filter((s) => s.share >= threshold - 1e-9).length,
    );
    return {
      [passAt(1)]: mean(passes.map((c) => passAtK(e.k, c, 1))),
      [passAt(e.k)]: mean(passes.map((c) => passAtK(e.k, c, e.k))),
    };
  }
}
