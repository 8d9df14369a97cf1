/**
 * A lesson's runs as Stages (src/lib/train/loop.ts), so that the TrainingLoop can run, pause and single-step
 * them. Each run records a metric series; models a run makes are disposed when it is disposed, except
 * the reward models it hands over as artefacts (the runner owns those).
 */
import { labelerById, pairAgreement } from '../data/labelers';
import { Rng } from '../data/rng';
import type { GPT } from '../model/gpt';
import { PpoStage, type RolloutSample } from '../rlhf/ppo';
import type { Ranking } from '../rlhf/rankings';
import { RewardModel, scorePairs } from '../rlhf/rewardModel';
import { REWARD_DEFAULTS, RewardStage } from '../rlhf/rewardTrainer';
import { followingPrompts, measureInstructionFollowing } from '../rlhf/instructionEval';
import { SFT_DEFAULTS, SftStage } from '../rlhf/sft';
import { CONSTRAINT_KINDS } from '../data/instructionFollowing';
import { encodePair } from '../rlhf/sequences';
import type { Metrics, Stage } from '../train/loop';
import { heldOutLoss } from '../train/pretrain';
import { judgePairs, labelerRankings, orderedPairs, sampleTexts } from './data';
import { mean, sqrtKl, wilsonInterval } from './stats';
import type {
  LessonContext,
  PpoRunSpec,
  RankingSpec,
  RewardModelRunSpec,
  RewardSweepRunSpec,
  RunRecord,
  RunSpec,
  SampleSet,
  SftRunSpec,
} from './types';

/** Reward models made by earlier runs of a lesson, by name. */
export type Artefacts = Map<string, RewardModel>;

export interface LessonRunStage extends Stage {
  readonly record: RunRecord;
}

export function newRecord(spec: RunSpec, totalSteps: number): RunRecord {
  return { id: spec.id, label: spec.label, kind: spec.kind, spec, totalSteps, stepsDone: 0, series: [], samples: [], seconds: 0 };
}

/** Steps a run takes, known before it starts. */
export function runSteps(spec: RunSpec): number {
  switch (spec.kind) {
    case 'reward-sweep':
      return spec.rankingCounts.length;
    case 'reward-model': {
      const s = { ...REWARD_DEFAULTS, ...spec.reward };
      return s.epochs * Math.ceil(spec.count / s.rankings_per_batch);
    }
    case 'ppo':
      return spec.ppo.iterations ?? 1;
    case 'sft': {
      const s = { ...SFT_DEFAULTS, ...spec.sft };
      return s.epochs * Math.ceil(s.demonstrations / s.batch_size);
    }
  }
}

export function createRunStage(spec: RunSpec, ctx: LessonContext, artefacts: Artefacts): LessonRunStage {
  switch (spec.kind) {
    case 'reward-sweep':
      return new RewardSweepRun(spec, ctx);
    case 'reward-model':
      return new RewardModelRun(spec, ctx, artefacts);
    case 'ppo':
      return new PpoRun(spec, ctx, artefacts);
    case 'sft':
      return new SftRun(spec, ctx);
  }
}

/** The context with labeler `id` in place of its own (a run's `labeler`), or as it is. */
function withLabeler(ctx: LessonContext, id: string | undefined): LessonContext {
  return id ? { ...ctx, labeler: labelerById(id) } : ctx;
}

/** A stage's control for steps in parts of about ctx.partMs (the app), or none: whole steps. */
const partControl = (ctx: LessonContext) => (ctx.partMs === undefined ? undefined : { partMs: ctx.partMs });

/** Positions for reward-model rows: room for the longest prompt and response of the rankings, within the context. */
function rewardTime(ctx: LessonContext, rankings: Ranking[]): number {
  let prompt = 1;
  let response = 1;
  for (const r of rankings) {
    prompt = Math.max(prompt, ctx.tokenizer.encode(r.prompt).length);
    for (const c of r.completions) response = Math.max(response, ctx.tokenizer.encode(c).length + 1);
  }
  return Math.min(ctx.policy.config.blockSize, 2 * Math.max(prompt, response));
}

/** Held-out pair accuracy of `rm` against the labeler's own (noisy) rankings and against the gold order. */
async function rankingAccuracy(
  rm: RewardModel,
  ctx: LessonContext,
  heldOut: Ranking[],
  time: number,
): Promise<{ labeler: number; gold: number }> {
  const pairs = heldOut.flatMap((r) => r.completions.map((c) => encodePair(ctx.tokenizer, r.prompt, c, true)));
  const scores = await scorePairs(rm, pairs, time, ctx.tokenizer.eosId, 64);
  let offset = 0;
  const labeler = { correct: 0, pairs: 0 };
  const gold = { correct: 0, pairs: 0 };
  for (const r of heldOut) {
    const s = scores.slice(offset, offset + r.completions.length);
    offset += r.completions.length;
    const golds = r.completions.map((c) => ctx.labeler.gold(c));
    const goldOrder = golds.map((_, i) => i).sort((a, b) => golds[b] - golds[a]);
    const l = orderedPairs(s, r.order);
    const g = orderedPairs(s, goldOrder, golds);
    labeler.correct += l.correct;
    labeler.pairs += l.pairs;
    gold.correct += g.correct;
    gold.pairs += g.pairs;
  }
  return { labeler: labeler.correct / Math.max(1, labeler.pairs), gold: gold.correct / Math.max(1, gold.pairs) };
}

const choose2 = (k: number) => (k * (k - 1)) / 2;

/** Whether a run evaluates after step `step`: every `every` steps (0 = never) and at the end. */
const evaluationDue = (step: number, total: number, every: number) => step === total || (every > 0 && step % every === 0);

/** What every lesson run keeps: its record's steps and seconds, true even when a step throws or is cut short. */
abstract class RecordedRun implements LessonRunStage {
  readonly name: string;
  readonly totalSteps: number;
  stepsDone = 0;
  readonly record: RunRecord;

  constructor(spec: RunSpec) {
    this.name = spec.id;
    this.totalSteps = runSteps(spec);
    this.record = newRecord(spec, this.totalSteps);
  }

  async step(): Promise<Metrics> {
    const started = performance.now();
    try {
      return await this.advance();
    } finally {
      this.record.stepsDone = this.stepsDone;
      this.record.seconds += (performance.now() - started) / 1000;
    }
  }

  /** One step of the run; pushes its metrics onto the record's series and returns them. */
  protected abstract advance(): Promise<Metrics>;

  abstract dispose(): void;
}

/** Lessons 1 and 2: step i trains a fresh reward model on the first rankingCounts[i] rankings and measures it. */
export class RewardSweepRun extends RecordedRun {
  private train: Ranking[] = [];
  private heldOut: Ranking[] = [];
  private ready = false;

  private readonly ctx: LessonContext;
  private agreement = NaN;

  constructor(
    private readonly spec: RewardSweepRunSpec,
    ctx: LessonContext,
  ) {
    super(spec);
    this.ctx = withLabeler(ctx, spec.labeler);
  }

  private async prepare(): Promise<void> {
    const { spec, ctx } = this;
    const most = Math.max(...spec.rankingCounts);
    this.train = await labelerRankings(ctx.policy, ctx.tokenizer, ctx.labeler, ctx.prompts, most, spec.rankings, `${spec.id}-train`);
    this.heldOut = await heldOutRankings(ctx, spec.id, spec.heldOutRankings, { ...spec.rankings, k: spec.heldOutK });
    // the labeler's measured agreement with its own gold order on the held-out rankings: the ceiling of accuracy/labeler
    this.agreement = pairAgreement(
      ctx.labeler,
      this.heldOut.map((r) => r.completions),
      this.heldOut.map((r) => r.order),
    );
    this.ready = true;
  }

  protected async advance(): Promise<Metrics> {
    if (!this.ready) await this.prepare();
    const { spec, ctx } = this;
    const n = spec.rankingCounts[this.stepsDone];
    const rankings = this.train.slice(0, n);
    const time = rewardTime(ctx, [...rankings, ...this.heldOut]);
    const rm = RewardModel.fromPolicy(ctx.policy, spec.reward.seed ?? 1);
    const stage = new RewardStage(
      rm,
      ctx.tokenizer,
      rankings,
      { ...spec.reward, held_out_share: 0 },
      { maxCompletions: spec.rankings.k, time, partMs: ctx.partMs },
    );
    let loss = NaN;
    try {
      while (stage.stepsDone < stage.totalSteps) loss = (await stage.step()).loss;
      const accuracy = await rankingAccuracy(rm, ctx, this.heldOut, time);
      this.stepsDone += 1;
      const values: Metrics = {
        rankings: n,
        completions_read: n * spec.rankings.k,
        pairs: n * choose2(spec.rankings.k),
        'accuracy/labeler': accuracy.labeler,
        'accuracy/gold': accuracy.gold,
        'labeler/agreement': this.agreement,
        'rm/steps': stage.totalSteps,
        'rm/loss': loss,
      };
      this.record.series.push({ step: this.stepsDone, values });
      return values;
    } finally {
      stage.dispose();
      rm.dispose();
    }
  }

  dispose(): void {}
}

/** Trains the reward model that later PPO runs of the lesson optimise against (their proxy reward). */
export class RewardModelRun extends RecordedRun {
  private rm: RewardModel | null = null;
  private stage: RewardStage | null = null;
  private heldOut: Ranking[] = [];
  private time = 0;
  private readonly ctx: LessonContext;

  constructor(
    private readonly spec: RewardModelRunSpec,
    ctx: LessonContext,
    private readonly artefacts: Artefacts,
  ) {
    super(spec);
    this.ctx = withLabeler(ctx, spec.labeler);
  }

  private async prepare(): Promise<RewardStage> {
    const { spec, ctx } = this;
    const train = await labelerRankings(ctx.policy, ctx.tokenizer, ctx.labeler, ctx.prompts, spec.count, spec.rankings, `${spec.id}-train`);
    this.heldOut = await heldOutRankings(ctx, spec.id, spec.heldOutRankings, spec.rankings);
    this.time = rewardTime(ctx, [...train, ...this.heldOut]);
    this.rm = RewardModel.fromPolicy(ctx.policy, spec.reward.seed ?? 1);
    return new RewardStage(
      this.rm,
      ctx.tokenizer,
      train,
      { ...spec.reward, held_out_share: 0 },
      { maxCompletions: spec.rankings.k, time: this.time, partMs: ctx.partMs },
    );
  }

  protected async advance(): Promise<Metrics> {
    this.stage ??= await this.prepare();
    const metrics = await this.stage.step();
    this.stepsDone += 1;
    const values: Metrics = { loss: metrics.loss, batch_accuracy: metrics.batch_accuracy };
    if (this.stepsDone === this.totalSteps && this.heldOut.length > 0) {
      const accuracy = await rankingAccuracy(this.rm!, this.ctx, this.heldOut, this.time);
      values['accuracy/labeler'] = accuracy.labeler;
      values['accuracy/gold'] = accuracy.gold;
    }
    if (this.stepsDone === this.totalSteps) {
      this.artefacts.get(this.spec.produces)?.dispose();
      this.artefacts.set(this.spec.produces, this.rm!);
      this.rm = null; // the runner owns it now
    }
    this.record.series.push({ step: this.stepsDone, values });
    return values;
  }

  dispose(): void {
    this.stage?.dispose();
    this.rm?.dispose();
    this.stage = null;
    this.rm = null;
  }
}

/**
 * PPO (or PPO-ptx) from a clone of the context's policy, against a reward model an earlier run produced
 * or the labeler's gold. Per iteration it records PpoStage's metrics plus gold, proxy (the reward-model
 * score) and sqrt_kl; at evaluations the held-out pretraining loss, held-out gold and the win rate
 * against the SFT model (the context's policy) with its 95 % Wilson interval. A point at step 0 holds the
 * SFT model's held-out values.
 */
export class PpoRun extends RecordedRun {
  private ppo: PpoStage | null = null;
  private policy: GPT | null = null;
  private sftTexts: string[] | null = null;
  private bestGold = -Infinity;
  private readonly judgeRng: Rng;
  private readonly ctx: LessonContext;

  constructor(
    private readonly spec: PpoRunSpec,
    ctx: LessonContext,
    private readonly artefacts: Artefacts,
  ) {
    super(spec);
    this.ctx = withLabeler(ctx, spec.labeler);
    this.judgeRng = new Rng((spec.ppo.seed ?? 1) + 4242);
  }

  /** The policy being trained (null before the first step and after dispose). */
  get trainedPolicy(): GPT | null {
    return this.policy;
  }

  private get evalSeed(): number {
    return 977 + (this.spec.ppo.seed ?? 1);
  }

  private evalPrompts(count: number | undefined): string[] {
    return this.ctx.heldOutPrompts.slice(0, count ?? 0);
  }

  private start(): PpoStage {
    const { spec, ctx } = this;
    let rewardModel: RewardModel | undefined;
    if (spec.reward !== 'gold') {
      rewardModel = this.artefacts.get(spec.reward);
      if (!rewardModel) throw new Error(`run ${spec.id} needs the reward model "${spec.reward}", which no earlier run made`);
    }
    this.policy = ctx.policy.clone(true);
    return new PpoStage({
      policy: this.policy,
      tokenizer: ctx.tokenizer,
      prompts: ctx.prompts,
      rewardModel,
      rewardFunction: rewardModel ? undefined : (prompt, response) => ctx.labeler.gold(prompt + response),
      reference: ctx.policy,
      goldScorer: (text) => ctx.labeler.gold(text),
      pretrainTokens: ctx.pretrainTokens,
      settings: spec.ppo,
      control: partControl(ctx),
    });
  }

  /** Held-out metrics of the current policy (the SFT model before the first step). */
  private async heldOutMetrics(): Promise<Metrics> {
    const { spec, ctx } = this;
    const policy = this.policy ?? ctx.policy;
    const values: Metrics = {};
    const s = this.ppo!.settings;
    if (spec.heldOutLossBatches && ctx.heldOutPretrainTokens) {
      values['pretrain_loss/held_out'] = await heldOutLoss(policy, ctx.heldOutPretrainTokens, 8, spec.heldOutLossBatches, 1);
    }
    const goldPrompts = this.evalPrompts(spec.heldOutGoldPrompts);
    const winPrompts = this.evalPrompts(spec.winRatePrompts);
    const prompts = goldPrompts.length >= winPrompts.length ? goldPrompts : winPrompts;
    if (prompts.length > 0) {
      const texts = await sampleTexts(policy, ctx.tokenizer, prompts, s.response_length, s.temperature, this.evalSeed);
      if (goldPrompts.length > 0) {
        const golds = texts.slice(0, goldPrompts.length).map((t) => ctx.labeler.gold(t));
        values['gold/held_out'] = mean(golds);
        if (spec.keepSamples) {
          const items = goldPrompts.map((prompt, i) => ({ prompt, response: texts[i], gold: golds[i] }));
          this.keepSamples(this.stepsDone, values['gold/held_out'], items);
        }
      }
      if (winPrompts.length > 0) {
        this.sftTexts ??= await sampleTexts(ctx.policy, ctx.tokenizer, winPrompts, s.response_length, s.temperature, this.evalSeed);
        const { wins, n } = judgePairs(ctx.labeler, texts.slice(0, winPrompts.length), this.sftTexts, this.winAgreement(), this.judgeRng);
        const w = wilsonInterval(wins, n);
        values.win_rate = w.share;
        values['win_rate/low'] = w.low;
        values['win_rate/high'] = w.high;
      }
    }
    return values;
  }

  /** The judge of the win rate is the same labeler, noiseless (the gold order; ties count half). */
  private winAgreement(): number {
    return 1;
  }

  protected async advance(): Promise<Metrics> {
    if (!this.ppo) {
      this.ppo = this.start();
      const baseline = await this.heldOutMetrics();
      if (Object.keys(baseline).length > 0) this.record.series.push({ step: 0, values: baseline });
    }
    const m = await this.ppo.step();
    const step = (this.stepsDone = this.ppo.stepsDone);
    const values: Metrics = {
      ...m,
      gold: m['objective/gold'],
      proxy: m['objective/scores'],
      kl: m['objective/kl'],
      sqrt_kl: sqrtKl(m['objective/kl']),
    };
    if (evaluationDue(step, this.totalSteps, this.spec.evalEvery)) Object.assign(values, await this.heldOutMetrics());
    this.record.series.push({ step, values });
    if (this.spec.keepSamples && !this.spec.heldOutGoldPrompts)
      this.keepSamples(step, values.gold, this.rolloutItems(this.ppo.lastSamples));
    return values;
  }

  private rolloutItems(samples: RolloutSample[]): SampleSet['items'] {
    return samples.map((x) => ({
      prompt: x.prompt,
      response: x.response,
      gold: this.ctx.labeler.gold(x.prompt + x.response),
      proxy: x.score,
    }));
  }

  /**
   * Keeps two sample sets: those of the evaluation (or iteration) with the highest gold so far and the latest.
   * With held-out gold on, both are the policy's responses to the same held-out prompts, side by side.
   */
  private keepSamples(step: number, gold: number, items: SampleSet['items']): void {
    let best = this.record.samples.find((x) => x.label.startsWith('highest gold'));
    if (gold > this.bestGold) {
      this.bestGold = gold;
      best = { label: `highest gold (iteration ${step})`, step, items };
    }
    this.record.samples = [...(best ? [best] : []), { label: `latest (iteration ${step})`, step, items }];
  }

  dispose(): void {
    this.ppo?.dispose();
    this.policy?.dispose();
    this.ppo = null;
    this.policy = null;
  }
}

/**
 * Lesson 0: SFT on the world's demonstrations from a clone of the context's policy (the pretrained model). Records the
 * training loss every step and, before the first step, every evalEvery steps and at the end, the validation loss and
 * instruction following: the share of the named constraints of fixed held-out instructions that responses sampled
 * with a fixed seed honour, overall and per kind ('following/character', ...). Keeps the responses before SFT and the
 * latest ones side by side.
 */
export class SftRun extends RecordedRun {
  private sft: SftStage | null = null;
  private policy: GPT | null = null;
  private readonly prompts: string[];

  constructor(
    private readonly spec: SftRunSpec,
    private readonly ctx: LessonContext,
  ) {
    super(spec);
    this.prompts = followingPrompts(ctx.heldOutPrompts, spec.followingPrompts);
  }

  /** The model being fine-tuned (null before the first step and after dispose). */
  get trainedPolicy(): GPT | null {
    return this.policy;
  }

  /** Instruction following (and its samples) of the model now. */
  private async following(): Promise<Metrics> {
    const { spec, ctx } = this;
    const report = await measureInstructionFollowing(this.policy!, ctx.tokenizer, this.prompts, {
      maxNewTokens: spec.followingTokens > 0 ? spec.followingTokens : undefined,
      seed: 101,
    });
    const values: Metrics = { instruction_following: report.share };
    for (const kind of CONSTRAINT_KINDS) {
      const k = report.byKind[kind];
      if (k.total > 0) values[`following/${kind}`] = k.honoured / k.total;
    }
    const items = this.prompts.map((prompt, i) => {
      const { honoured, total } = report.scores[i];
      return { prompt, response: report.responses[i], gold: honoured / total, badge: `follows ${honoured} of ${total}` };
    });
    const set: SampleSet = {
      label:
        this.stepsDone === 0 ? 'before SFT (the pretrained model)' : `after ${this.stepsDone} SFT step${this.stepsDone === 1 ? '' : 's'}`,
      step: this.stepsDone,
      items,
    };
    this.record.samples = this.stepsDone === 0 ? [set] : [this.record.samples[0], set];
    return values;
  }

  protected async advance(): Promise<Metrics> {
    if (!this.sft) {
      this.policy = this.ctx.policy.clone(true);
      this.sft = new SftStage(this.policy, this.ctx.tokenizer, { ...this.spec.sft, instruction_prompts: 0 }, [], partControl(this.ctx));
      const { val_loss } = await this.sft.evaluate();
      this.record.series.push({ step: 0, values: { val_loss, ...(await this.following()) } });
    }
    const m = await this.sft.step();
    const step = (this.stepsDone = this.sft.stepsDone);
    const values: Metrics = { loss: m.loss };
    if (evaluationDue(step, this.totalSteps, this.spec.evalEvery)) Object.assign(values, await this.sft.evaluate(), await this.following());
    this.record.series.push({ step, values });
    return values;
  }

  dispose(): void {
    this.sft?.dispose();
    this.policy?.dispose();
    this.sft = null;
    this.policy = null;
  }
}

/** The labeler's rankings of the held-out prompts for a run: the run's ranking settings, a seed 1000 apart from its training ones. */
function heldOutRankings(ctx: LessonContext, runId: string, count: number, rankings: RankingSpec): Promise<Ranking[]> {
  const spec = { ...rankings, seed: rankings.seed + 1000 };
  return labelerRankings(ctx.policy, ctx.tokenizer, ctx.labeler, ctx.heldOutPrompts, count, spec, `${runId}-held-out`);
}
