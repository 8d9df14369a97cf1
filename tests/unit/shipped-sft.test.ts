/**
 * The shipped SFT starting point (public/checkpoints/sft.safetensors, written by scripts/ship-sft.ts) is what
 * its report says: the shipped pretrained model's tokenizer and shape, and instruction following on the
 * report's held-out instructions as measured (same prompts, seed and temperature); the SFT card's figure for runs
 * with SFT's defaults (scripts/sft-seeds.ts) is a spread over seeds that agrees with the report's seed-1 run.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, modelFromCheckpoint } from '../../src/lib/model/checkpoint';
import { heldOutFollowingPrompts, measureInstructionFollowing } from '../../src/lib/rlhf/instructionEval';
import { useWasmBackend } from './setup-tf';

const read = (name: string) => readFileSync(`public/checkpoints/${name}`);
const report = JSON.parse(read('sft.json').toString()) as {
  following: {
    sft: number;
    pretrained: number;
    defaults: number;
    prompts: number;
    constraints: number;
    defaultsOverSeeds: { seeds: number[]; shares: number[]; mean: number; min: number; max: number; prompts: number };
  };
};

beforeAll(useWasmBackend);

describe('the shipped SFT starting point', () => {
  it('continues the shipped pretrained model and follows instructions as its report says', async () => {
    const sft = decodeCheckpoint(new Uint8Array(read('sft.safetensors')));
    const pretrained = decodeCheckpoint(new Uint8Array(read('default.safetensors')));
    expect(sft.config).toEqual(pretrained.config);
    expect(sft.tokenizer.encode('Instruction: Write a story about Mia and a fox.')).toEqual(
      pretrained.tokenizer.encode('Instruction: Write a story about Mia and a fox.'),
    );
    expect(sft.note).toContain('shipped mini SFT checkpoint');

    // the report's measure: scripts/ship-sft.ts's held-out instructions, temperature 1, seed 5
    const prompts = heldOutFollowingPrompts(report.following.prompts);
    const model = modelFromCheckpoint(sft);
    const measured = await measureInstructionFollowing(model, sft.tokenizer, prompts, { temperature: 1, seed: 5 });
    model.dispose();
    expect(measured.total).toBe(report.following.constraints);
    // wasm here and wasm in the script draw the same tokens; a little room for another backend's rounding
    expect(Math.abs(measured.share - report.following.sft)).toBeLessThanOrEqual(0.03);
    expect(report.following.sft).toBeGreaterThan(report.following.defaults);
    expect(report.following.defaults).toBeGreaterThan(report.following.pretrained);
  });

  it("gives runs with SFT's defaults as a spread over seeds, the seed-1 run among them", () => {
    const over = report.following.defaultsOverSeeds;
    expect(over.seeds.length).toBeGreaterThanOrEqual(3);
    expect(over.shares).toHaveLength(over.seeds.length);
    expect(over.prompts).toBe(report.following.prompts);
    expect(over.mean).toBeCloseTo(over.shares.reduce((a, b) => a + b, 0) / over.shares.length, 10);
    expect([over.min, over.max]).toEqual([Math.min(...over.shares), Math.max(...over.shares)]);
    // SFT's defaults have seed 1: ship-sft.ts's one run is that seed's
    expect(over.shares[over.seeds.indexOf(1)]).toBeCloseTo(report.following.defaults, 10);
    expect(over.min).toBeGreaterThan(report.following.pretrained);
    expect(over.max).toBeLessThan(report.following.sft);
  });
});
