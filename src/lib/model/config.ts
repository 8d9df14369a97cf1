/** Model shapes. The output head is tied to the token embedding (GPT-2 style): fewer parameters, and it trains better at this size. */
export interface ModelConfig {
  vocabSize: number;
  blockSize: number; // context length in tokens
  nLayer: number;
  nHead: number;
  nEmbd: number;
}

export type PresetName = 'tiny' | 'mini' | 'small';

export type ModelShape = Omit<ModelConfig, 'vocabSize'>;

export const PRESETS: Record<PresetName, ModelShape> = {
  tiny: { blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 48 }, // ~0.1M parameters, for tests
  mini: { blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128 }, // ~0.9M, the shipped default
  small: { blockSize: 256, nLayer: 6, nHead: 8, nEmbd: 256 }, // ~5M, for a real GPU
};

export function configFromPreset(preset: PresetName, vocabSize: number): ModelConfig {
  return { ...PRESETS[preset], vocabSize };
}

/** Every parameter's name and shape, in a fixed order: the model, the checkpoint and the optimizer all agree on it. */
export function parameterShapes(cfg: ModelConfig): [string, number[]][] {
  const C = cfg.nEmbd;
  const shapes: [string, number[]][] = [
    ['wte', [cfg.vocabSize, C]],
    ['wpe', [cfg.blockSize, C]],
  ];
  for (let i = 0; i < cfg.nLayer; i++) {
    const p = `h${i}.`;
    shapes.push(
      [p + 'ln1.g', [C]],
      [p + 'ln1.b', [C]],
      [p + 'attn.wqkv', [C, 3 * C]],
      [p + 'attn.bqkv', [3 * C]],
      [p + 'attn.wo', [C, C]],
      [p + 'attn.bo', [C]],
      [p + 'ln2.g', [C]],
      [p + 'ln2.b', [C]],
      [p + 'mlp.wfc', [C, 4 * C]],
      [p + 'mlp.bfc', [4 * C]],
      [p + 'mlp.wproj', [4 * C, C]],
      [p + 'mlp.bproj', [C]],
    );
  }
  shapes.push(['lnf.g', [C]], ['lnf.b', [C]]);
  return shapes;
}

export function countParams(cfg: ModelConfig): number {
  return parameterShapes(cfg).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
}

/** Returns a message for the first thing wrong with a config, or null. */
export function configError(cfg: unknown): string | null {
  if (typeof cfg !== 'object' || cfg === null) return 'model config is missing';
  const c = cfg as Record<string, unknown>;
  for (const key of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd']) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100_000) {
      return `model config field "${key}" must be a positive integer, got ${JSON.stringify(v)}`;
    }
  }
  if ((c.nEmbd as number) % (c.nHead as number) !== 0) return 'nEmbd must be divisible by nHead';
  return null;
}

/** The preset a config was made from, or 'custom'. */
export function presetOf(config: ModelConfig): PresetName | 'custom' {
  for (const [name, shape] of Object.entries(PRESETS)) {
    if (Object.entries(shape).every(([k, v]) => config[k as keyof ModelConfig] === v)) return name as PresetName;
  }
  return 'custom';
}
