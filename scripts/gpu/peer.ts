/**
 * The peer's half of `npm run bench:gpu`: @genai-fi/nanogpt (a tfjs GPT with fused WebGPU kernels)
 * at one shape, in its own process because it bundles its own tfjs. Training tokens per second
 * (its own train step: forward, loss, gradients, its AdamW) and batch-1 cached generation.
 */

export interface PeerOptions {
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  vocabSize: number;
  batch: number;
  steps: number;
  genTokens: number;
}

/** What the peer expects of a browser, and what Node 20 lacks (iterator helpers, Promise.withResolvers). */
function browserShims(): void {
  const g = globalThis as Record<string, unknown>;
  g.window ??= globalThis;
  g.document ??= { createElement: () => ({ getContext: () => null, style: {} }), body: { appendChild() {} } };
  g.requestAnimationFrame ??= (f: (t: number) => void) => setTimeout(() => f(performance.now()), 0);
  const P = Promise as unknown as Record<string, unknown>;
  P.withResolvers ??= function <T>() {
    let resolve!: (v: T) => void, reject!: (e: unknown) => void;
    const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
    return { promise, resolve, reject };
  };
  const iteratorProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as Record<string, unknown>;
  const helpers: Record<string, (this: Iterable<unknown>, ...a: never[]) => unknown> = {
    toArray() {
      return [...this];
    },
    map(f: (v: unknown, i: number) => unknown) {
      return [...this].map(f)[Symbol.iterator]();
    },
    filter(f: (v: unknown, i: number) => boolean) {
      return [...this].filter(f)[Symbol.iterator]();
    },
    forEach(f: (v: unknown, i: number) => void) {
      [...this].forEach(f);
    },
    reduce(f: (a: unknown, v: unknown) => unknown, init: unknown) {
      return [...this].reduce(f, init);
    },
    some(f: (v: unknown) => boolean) {
      return [...this].some(f);
    },
    every(f: (v: unknown) => boolean) {
      return [...this].every(f);
    },
    find(f: (v: unknown) => boolean) {
      return [...this].find(f);
    },
  };
  for (const [name, fn] of Object.entries(helpers))
    if (!(name in iteratorProto)) Object.defineProperty(iteratorProto, name, { value: fn, configurable: true, writable: true });
}

interface PeerTensor {
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}

/** The peer's tfjs engine: tfjs-core keeps it on the global object, so tensors can be made without its (minified) exports. */
function peerEngine(): { makeTensor(values: Int32Array, shape: number[], dtype: string): PeerTensor } {
  const engine = (globalThis as Record<string, unknown>)._tfengine;
  if (!engine) throw new Error('the peer did not set up a tfjs engine');
  return engine as ReturnType<typeof peerEngine>;
}

function randomIds(rows: number, cols: number, vocab: number): PeerTensor {
  return peerEngine().makeTensor(
    Int32Array.from({ length: rows * cols }, () => Math.floor(Math.random() * vocab)),
    [rows, cols],
    'int32',
  );
}

export async function runPeer(o: PeerOptions, log: (line: string) => void): Promise<Record<string, unknown>> {
  browserShims();
  // Deep paths: the package exports only its main module, and BasicTrainer (its train step) and Generator are not in it.
  const { default: TeachableLLM } = await import('../../node_modules/@genai-fi/nanogpt/dist/TeachableLLM.js');
  const { default: BasicTrainer } = await import('../../node_modules/@genai-fi/nanogpt/dist/training/BasicTrainer.js');
  const { default: Generator } = await import('../../node_modules/@genai-fi/nanogpt/dist/inference/Generator.js');
  const { default: CharTokeniser } = await import('../../node_modules/@genai-fi/nanogpt/dist/tokeniser/CharTokeniser.js');
  await TeachableLLM.selectBackend('webgpu');
  // A ready-made vocabulary: <eos>, <unk>, then printable characters.
  const vocab = ['<eos>', '<unk>', ...Array.from({ length: o.vocabSize - 2 }, (_, i) => String.fromCodePoint(32 + i))];
  const llm = TeachableLLM.create(new CharTokeniser(vocab), {
    modelType: 'GenAI_NanoGPT_v2',
    mlpFactor: 4, // the package's default model type
    vocabSize: o.vocabSize,
    blockSize: o.blockSize,
    nLayer: o.nLayer,
    nHead: o.nHead,
    nEmbed: o.nEmbd,
  });
  const trainer = new BasicTrainer(llm.model, llm.tokeniser, { learningRate: 1e-3 });
  const trainStep = (
    trainer as unknown as { trainStep(state: object, batch: { xs: PeerTensor; ys: PeerTensor }): PeerTensor }
  ).trainStep.bind(trainer);
  const steps = async (n: number) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const xs = randomIds(o.batch, o.blockSize, o.vocabSize);
      const ys = randomIds(o.batch, o.blockSize, o.vocabSize);
      const loss = trainStep({}, { xs, ys });
      await loss.data(); // one read-back a step, as this project's bench does
      [loss, xs, ys].forEach((t) => t.dispose());
    }
    return (performance.now() - started) / 1000;
  };
  log('peer: warm-up…');
  await steps(2);
  log(`peer: training batch ${o.batch}…`);
  const trainSeconds = await steps(o.steps);
  log('peer: batch-1 cached generation…');
  const generate = async (tokens: number) => {
    const generator = new Generator(llm.model, llm.tokeniser);
    const started = performance.now();
    await generator.generate({ input: 'the quick', maxLength: tokens, allowSpecial: true, nonConversational: true, temperature: 1 });
    const seconds = (performance.now() - started) / 1000;
    const count = generator.getRawOutput().length;
    generator.dispose();
    return count / seconds;
  };
  await generate(4);
  const generateRate = await generate(o.genTokens);
  return {
    peer: '@genai-fi/nanogpt 1.3.0',
    shape: { ...o },
    train_tokens_per_s: (o.batch * o.blockSize * o.steps) / trainSeconds,
    train_step_ms: (1000 * trainSeconds) / o.steps,
    generate_batch1_tokens_per_s: generateRate,
  };
}
