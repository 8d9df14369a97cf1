/**
 * Stage 1, supervised fine-tuning: next-token loss on prompt -> demonstration pairs, counted on the
 * demonstration tokens only (including the final eos, so the model learns to stop). The paper: 16
 * epochs with cosine learning-rate decay.
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import { lmLoss, logProbsAt } from '../model/logprobs';
import { Rng } from '../data/rng';
import type { Tokenizer } from '../data/tokenizer';
import { generateTasks, mixOfSetting, STORIES_ONLY, TASK_MIX_SETTING, type Task } from '../data/tasks/mix';
import { AdamW, readStep } from '../train/adamw';
import type { Metrics, Stage } from '../train/loop';
import { accumulateInParts, PartSizer, yieldToEventLoop, type PartControl } from '../train/parts';
import { cosineLr } from '../train/schedule';
import { defaultsOf, float, hidden, int, SEED, type SettingsOf } from '../settings';
import { followingPrompts, measureInstructionFollowing } from './instructionEval';
import {
  batchRows,
  encodePair,
  fixedBatch,
  packSequences,
  sequenceTensors,
  disposeSequenceTensors,
  type SequenceTensors,
  type TokenPair,
} from './sequences';

export interface Demonstration {
  prompt: string; // formatted, as formatPrompt() gives it
  response: string;
}

/** SFT's settings: defaults, ranges and explanations, the one source for the form and the code. */
export const SFT_SETTINGS = [
  // one pass over 2,048 fresh demonstrations at 1e-3 taught the shipped model more than SFT's earlier defaults, four
  // passes over 512 at 3e-4, in the same 128 steps: 67 % against 56 % instruction following (README, scripts/sft-check.ts)
  int(
    'epochs',
    'Epochs',
    1,
    1,
    100,
    'Passes over the demonstrations. The paper used 16 epochs (and found that over-fitting the validation loss still helped the reward); here fresh demonstrations teach more than repeated ones.',
  ),
  int('batch_size', 'Batch size', 16, 1, 256, 'Demonstrations per step.'),
  // the highest that still trains (scripts/lr-ceiling.ts, 128 steps): validation loss 0.74 -> 0.72 on the tiny fixture
  // and 0.44 -> 0.45 on the shipped model; at 0.01 the tiny one gets worse (0.79), at 0.03 and above it diverges
  float(
    'learning_rate',
    'Learning rate',
    1e-3,
    1e-6,
    3e-3,
    'Peak learning rate with cosine decay, as in the paper. On the shipped model 1e-3 taught instruction following faster than 3e-4.',
  ),
  int(
    'demonstrations',
    'Built-in demos',
    2048,
    8,
    20_000,
    'How many built-in instruction/response demonstrations to train on (your own are added).',
  ),
  SEED,
  TASK_MIX_SETTING,
  hidden(int('val_demonstrations', 'Held-out demos', 64, 1, 10_000, 'Built-in demonstrations kept aside for the validation loss.')),
  hidden(int('warmup_steps', 'Warm-up steps', 0, 0, 100_000, 'Steps of linear learning-rate warm-up.')),
  hidden(float('weight_decay', 'Weight decay', 0.1, 0, 1, 'Decoupled AdamW weight decay.')),
  hidden(float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm (0 = off).')),
  // instruction following (src/lib/data/instructionFollowing.ts) on held-out prompts; sampling costs (the pretrained model
  // writes to the end of the context: about 6 s for 32 prompts on mini, wasm), so only every instruction_every steps
  hidden(
    int(
      'instruction_prompts',
      'Instruction prompts',
      32,
      0,
      256,
      'Held-out instruction prompts sampled to measure instruction following (0 = off).',
    ),
  ),
  hidden(
    int(
      'instruction_every',
      'Instruction-following interval',
      32,
      1,
      100_000,
      'Steps between instruction-following measures (also before the first step and at the end).',
    ),
  ),
  hidden(
    int(
      'instruction_tokens',
      'Instruction tokens',
      0,
      0,
      512,
      'Longest sampled response for that measure (0: as much as the context leaves).',
    ),
  ),
] as const;

export type SftSettings = SettingsOf<typeof SFT_SETTINGS>;
export const SFT_DEFAULTS: SftSettings = defaultsOf(SFT_SETTINGS);

/**
 * Built-in demonstrations of the task mix `mix` (a task_mix setting's text; by default the stories alone, the stream
 * from before there were families), split into train and held-out; one stream, so the two never share an item.
 */
export function builtInDemonstrations(seed: number, train: number, val: number, mix = STORIES_ONLY): { train: Task[]; val: Task[] } {
  const all = generateTasks(seed, train + val, mixOfSetting(mix));
  return { train: all.slice(0, train), val: all.slice(train) };
}

export class SftStage implements Stage {
  readonly name = 'sft';
  readonly totalSteps: number;
  stepsDone = 0;
  readonly settings: SftSettings;
  /** Positions per row: the context, or less when every pair fits in less. */
  readonly time: number;
  private readonly model: GPT;
  private readonly eosId: number;
  private readonly train: TokenPair[];
  private readonly val: TokenPair[];
  /** Prompts of held-out demonstrations that name at least one constraint: the instruction-following set. */
  readonly followingPrompts: string[];
  private readonly tokenizer: Tokenizer;
  private readonly optimizer: AdamW;
  private readonly rng: Rng;
  private order: number[] = [];
  private readonly control?: PartControl;
  private readonly partSizer?: PartSizer;
  /** The items of a step that a pause cut short. */
  private items: TokenPair[] | null = null;
  /** The step of the last instruction-following measure (null: none yet). */
  private followingMeasuredAt: number | null = null;

  constructor(
    model: GPT,
    tokenizer: Tokenizer,
    settings: Partial<SftSettings> = {},
    userDemonstrations: Demonstration[] = [],
    control?: PartControl,
  ) {
    this.model = model;
    this.control = control;
    if (control?.partMs !== undefined) this.partSizer = new PartSizer(control.partMs);
    this.settings = { ...SFT_DEFAULTS, ...settings };
    const { demonstrations, val_demonstrations: valCount, seed, epochs, batch_size: batchSize } = this.settings;
    const builtIn = builtInDemonstrations(seed, demonstrations, valCount, this.settings.task_mix);
    const encode = (d: Demonstration) => encodePair(tokenizer, d.prompt, d.response, true);
    this.train = [...builtIn.train, ...userDemonstrations].map(encode);
    this.val = builtIn.val.map(encode);
    this.tokenizer = tokenizer;
    // instructions to follow are the stories' (generation); the other families are graded by their own programs
    this.followingPrompts = followingPrompts(
      builtIn.val.filter((d) => d.family === 'generation').map((d) => d.prompt),
      this.settings.instruction_prompts,
    );
    this.eosId = tokenizer.eosId;
    const longest = Math.max(...[...this.train, ...this.val].map((p) => p.prompt.length + p.response.length));
    this.time = Math.min(model.config.blockSize, longest);
    this.totalSteps = epochs * Math.ceil(this.train.length / batchSize);
    this.rng = new Rng(seed);
    this.optimizer = new AdamW(model.variables(), { weightDecay: this.settings.weight_decay, maxGradNorm: this.settings.max_grad_norm });
  }

  get trainSize(): number {
    return this.train.length;
  }

  /** The items of step `stepsDone`: a fresh shuffle each epoch, the last batch filled by repeating items. */
  private nextBatch(): TokenPair[] {
    const batchSize = this.settings.batch_size;
    const perEpoch = Math.ceil(this.train.length / batchSize);
    const inEpoch = this.stepsDone % perEpoch;
    if (inEpoch === 0) this.order = this.rng.shuffle(this.train.map((_, i) => i));
    return fixedBatch(this.order, inEpoch * batchSize, batchSize).map((i) => this.train[i]);
  }

  /** One step; with a PartControl, in parts of rows, and {} (no step made) when a pause stopped it between parts. */
  async step(): Promise<Metrics> {
    const { learning_rate: peak, warmup_steps: warmup } = this.settings;
    const lr = cosineLr(this.stepsDone, this.totalSteps, peak, warmup);
    const items = (this.items ??= this.nextBatch()); // kept across a pause: the step is redone on the same items
    const batch = sequenceTensors(packSequences(items, this.time, this.eosId));
    try {
      // loss = -sum_t m_t log pi(y_t | x, y_<t) / sum_t m_t, m = 1 on demonstration tokens
      if (!this.partSizer) this.optimizer.accumulate(() => ({ loss: lmLoss(this.model, batch.ids, batch.targets, batch.targetMask) }));
      else if (!(await this.accumulateInParts(batch, this.partSizer))) return {};
    } finally {
      disposeSequenceTensors(batch);
    }
    const metrics = await readStep(this.optimizer.applyAccumulated(lr));
    this.items = null;
    this.stepsDone += 1;
    return { loss: metrics.loss, lr, grad_norm: metrics.grad_norm };
  }

  /** The step's gradient over parts of rows, each part's masked mean scaled by its share of the demonstration tokens. */
  private async accumulateInParts(batch: SequenceTensors, sizer: PartSizer): Promise<boolean> {
    const tokens = tf.sum(batch.targetMask);
    try {
      return await accumulateInParts(
        this.optimizer,
        batch.ids.shape[0],
        sizer,
        (from, to) => {
          const part = batchRows(batch, from, to);
          const loss = lmLoss(this.model, part.ids, part.targets, part.targetMask);
          return { loss: tf.mul(loss, tf.div(tf.sum(part.targetMask), tf.maximum(tokens, 1))) as tf.Scalar };
        },
        () => this.control?.shouldStop?.() ?? false,
      );
    } finally {
      tokens.dispose();
    }
  }

  /**
   * Mean per-token loss on the held-out demonstrations (the same ones every time) and, unless
   * instruction_prompts is 0, instruction_following: the share of the named constraints (characters,
   * animals, objects, place, mood, ending, length) of held-out instructions that sampled responses
   * honour (temperature 1, a fixed seed, so the same draws before and after training), at the first
   * evaluation, then once instruction_every steps have passed since the last, and at the end.
   */
  async evaluate(): Promise<Metrics> {
    const metrics: Metrics = { val_loss: await responseLoss(this.model, this.val, this.time, this.eosId, this.settings.batch_size) };
    const due =
      this.followingMeasuredAt === null ||
      this.stepsDone - this.followingMeasuredAt >= this.settings.instruction_every ||
      this.stepsDone >= this.totalSteps;
    if (this.followingPrompts.length > 0 && due) {
      this.followingMeasuredAt = this.stepsDone;
      const { instruction_tokens: tokens, seed } = this.settings;
      const report = await measureInstructionFollowing(this.model, this.tokenizer, this.followingPrompts, {
        maxNewTokens: tokens > 0 ? tokens : undefined,
        seed,
      });
      metrics.instruction_following = report.share;
    }
    return metrics;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Token-weighted mean of -log pi(response token) over pairs, in fixed [rows, time] batches (dummy rows count 0). */
export async function responseLoss(model: GPT, pairs: TokenPair[], time: number, eosId: number, rows: number): Promise<number> {
  let nll = 0;
  let tokens = 0;
  for (let start = 0; start < pairs.length; start += rows) {
    const batch = sequenceTensors(packSequences(pairs.slice(start, start + rows), time, eosId, rows));
    const sums = tf.tidy(() => {
      const logProbs = logProbsAt(model.logits(batch.ids), batch.targets);
      return tf.stack([tf.neg(tf.sum(tf.mul(logProbs, batch.targetMask))), tf.sum(batch.targetMask)]);
    });
    const [batchNll, batchTokens] = await sums.data();
    tf.dispose(sums);
    disposeSequenceTensors(batch);
    nll += batchNll;
    tokens += batchTokens;
    if (start + rows < pairs.length) await yieldToEventLoop();
  }
  return nll / Math.max(tokens, 1);
}
