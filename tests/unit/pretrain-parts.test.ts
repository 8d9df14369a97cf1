/**
 * Pretraining in parts (the app's PartControl): a step split into parts of rows makes the whole step's update, lets
 * the event loop run between its parts (so the watchdog's heartbeat goes on), and a pause between parts redoes the
 * step on the same windows.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/lib/model/config';
import { GPT } from '../../src/lib/model/gpt';
import { Rng } from '../../src/lib/data/rng';
import type { PartControl } from '../../src/lib/train/parts';
import { PretrainStage } from '../../src/lib/train/pretrain';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

const config: ModelConfig = { vocabSize: 24, blockSize: 12, nLayer: 1, nHead: 2, nEmbd: 16 };
const rng = new Rng(11);
const tokens = Int32Array.from({ length: 600 }, () => Math.floor(rng.next() * config.vocabSize));
const data = { train: tokens.subarray(0, 480), val: tokens.subarray(480) };
const settings = { steps: 3, batch_size: 4, learning_rate: 1e-2, warmup_steps: 0, seed: 5 };

/** Three steps from the same weights; whether a timer set before each step ran while it was under way. */
async function run(control?: PartControl, pauseFirst = false) {
  const model = GPT.init(config, 3);
  const stage = new PretrainStage(model, data, settings, control);
  if (pauseFirst) {
    expect(await stage.step()).toEqual({});
    expect(stage.stepsDone).toBe(0);
  }
  const losses: number[] = [];
  const timerRanDuringStep: boolean[] = [];
  let afterFirst = 0;
  while (stage.stepsDone < stage.totalSteps) {
    let ran = false;
    const timer = setTimeout(() => (ran = true), 0);
    losses.push((await stage.step()).loss);
    timerRanDuringStep.push(ran);
    clearTimeout(timer);
    afterFirst ||= tf.memory().numTensors; // the optimizer's moments exist from the first step on
  }
  expect(tf.memory().numTensors).toBe(afterFirst);
  const weights = Array.from(await model.params.get('wte')!.data());
  const valLoss = (await stage.evaluate()).val_loss;
  stage.dispose();
  model.dispose();
  return { losses, weights, valLoss, timerRanDuringStep };
}

describe('pretraining in parts', () => {
  it('makes the whole step (partMs 0: a row a part), yields between parts, and redoes a step a pause cut short', async () => {
    const whole = await run();
    const inParts = await run({ partMs: 0 });
    expect(inParts.losses).toHaveLength(3);
    inParts.losses.forEach((loss, i) => expect(loss).toBeCloseTo(whole.losses[i], 5));
    expect(Math.max(...inParts.weights.map((w, i) => Math.abs(w - whole.weights[i])))).toBeLessThan(1e-5);
    expect(inParts.valLoss).toBeCloseTo(whole.valLoss, 5);
    // a whole step on cpu is one synchronous stretch; in parts, timers run between them
    expect(whole.timerRanDuringStep).toEqual([false, false, false]);
    expect(inParts.timerRanDuringStep).toEqual([true, true, true]);
    let asked = 0;
    const paused = await run({ partMs: 0, shouldStop: () => ++asked === 1 }, true);
    expect(paused.losses).toEqual(inParts.losses);
    expect(paused.weights).toEqual(inParts.weights);
  });
});
