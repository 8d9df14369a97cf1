import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromPreset, type ModelConfig } from '../../src/lib/model/config';
import { GPT } from '../../src/lib/model/gpt';
import { lmLoss } from '../../src/lib/model/logprobs';
import { builtInDemonstrations, SftStage } from '../../src/lib/rlhf/sft';
import { packSequences, sequenceTensors } from '../../src/lib/rlhf/sequences';
import { fixtureExists, loadPretrained } from './rlhf-stage-fixture';
import { useCpuBackend, useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

describe('SFT', () => {
  it('counts response tokens only: prompt targets carry no weight', async () => {
    const cfg: ModelConfig = { vocabSize: 20, blockSize: 10, nLayer: 1, nHead: 2, nEmbd: 16 };
    const model = GPT.init(cfg, 3);
    const a = packSequences(
      [
        { prompt: [5, 6, 7, 8], response: [9, 10, 0] },
        { prompt: [5, 6], response: [11, 12, 13, 14, 0] },
      ],
      10,
      0,
    );
    const b = packSequences(
      [
        { prompt: [1, 2, 3, 8], response: [9, 10, 0] },
        { prompt: [4, 6], response: [11, 12, 13, 14, 0] },
      ],
      10,
      0,
    );
    expect(Array.from(b.targetMask)).toEqual(Array.from(a.targetMask)); // other prompt tokens, same weights
    const t = sequenceTensors(a);
    const scrambled = Int32Array.from(a.targets, (tok, i) => (a.targetMask[i] ? tok : (tok + 7) % 20)); // change every unweighted target
    const loss = await lmLoss(model, t.ids, t.targets, t.targetMask).data();
    const lossScrambled = await lmLoss(model, t.ids, tf.tensor2d(scrambled, [2, 10], 'int32'), t.targetMask).data();
    expect(lossScrambled[0]).toBe(loss[0]);
    const changedResponse = Int32Array.from(a.targets, (tok, i) => (i === 5 ? 3 : tok)); // row 0 column 5 predicts the final eos
    expect(a.targetMask[5]).toBe(1);
    expect((await lmLoss(model, t.ids, tf.tensor2d(changedResponse, [2, 10], 'int32'), t.targetMask).data())[0]).not.toBe(loss[0]);
    model.dispose();
  });

  it('splits built-in demonstrations into disjoint train and held-out sets', () => {
    const { train, val } = builtInDemonstrations(5, 30, 10);
    expect(train).toHaveLength(30);
    expect(val).toHaveLength(10);
    expect(builtInDemonstrations(5, 30, 10).val).toEqual(val);
  });

  // From fresh weights (tiny preset, the fixture's tokenizer): the pretrained fixture already fits demonstrations
  // as well as it can (its corpus holds instruction pairs), so SFT from it barely moves the held-out loss.
  it.skipIf(!fixtureExists)('lowers the validation loss on held-out demonstrations', async () => {
    const { tokenizer } = loadPretrained();
    const model = GPT.init(configFromPreset('tiny', tokenizer.vocabSize), 5);
    const stage = new SftStage(
      model,
      tokenizer,
      { epochs: 1, batch_size: 8, demonstrations: 64, val_demonstrations: 16, learning_rate: 1e-2, seed: 3 },
      [{ prompt: 'Instruction: Write a story about Tom.\nResponse:', response: ' Tom had a red ball. The end.' }],
    );
    expect(stage.totalSteps).toBe(Math.ceil(65 / 8));
    const before = (await stage.evaluate()).val_loss;
    const tensors = tf.memory().numTensors;
    let last = { loss: NaN, lr: NaN, grad_norm: NaN };
    while (stage.stepsDone < stage.totalSteps) last = (await stage.step()) as typeof last;
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Object.keys(last).sort()).toEqual(['grad_norm', 'loss', 'lr']);
    const after = (await stage.evaluate()).val_loss;
    console.log(`SFT val_loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    expect(after).toBeLessThan(before - 0.8); // measured 6.25 -> 4.94
    stage.dispose();
    model.dispose();
  });
});

// On cpu: AdamW's first step divides each gradient by its size, so wasm's other summation order (a row against the batch)
// moves a few rarely seen tokens' weights by up to 2e-5, past this test's 1e-5 (cpu: 2e-6).
describe('SFT on cpu', () => {
  beforeAll(useCpuBackend);
  afterAll(useWasmBackend);

  it.skipIf(!fixtureExists)(
    'takes a step in parts (partMs 0: a row a part) to the whole step; a pause between parts redoes it',
    async () => {
      const { tokenizer } = loadPretrained();
      const settings = { epochs: 1, batch_size: 4, demonstrations: 8, val_demonstrations: 4, learning_rate: 1e-2, seed: 3 };
      const run = async (control?: { partMs?: number; shouldStop?: () => boolean }, pauseFirst = false) => {
        const model = GPT.init(configFromPreset('tiny', tokenizer.vocabSize), 5);
        const stage = new SftStage(model, tokenizer, settings, [], control);
        const losses: number[] = [];
        if (pauseFirst) {
          expect(await stage.step()).toEqual({});
          expect(stage.stepsDone).toBe(0);
        }
        while (stage.stepsDone < stage.totalSteps) losses.push((await stage.step()).loss);
        const weights = Array.from(await model.params.get('wte')!.data());
        stage.dispose();
        model.dispose();
        return { losses, weights };
      };
      const whole = await run();
      const inParts = await run({ partMs: 0 });
      expect(inParts.losses).toHaveLength(2);
      inParts.losses.forEach((loss, i) => expect(loss).toBeCloseTo(whole.losses[i], 5));
      expect(Math.max(...inParts.weights.map((w, i) => Math.abs(w - whole.weights[i])))).toBeLessThan(1e-5);
      let asked = 0;
      const paused = await run({ partMs: 0, shouldStop: () => ++asked === 1 }, true);
      expect(paused).toEqual(inParts);
    },
  );
});
