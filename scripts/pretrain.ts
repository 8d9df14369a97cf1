/**
 * Trains the shipped checkpoint: the default model on the built-in corpus with a fixed seed, in Node
 * on the wasm backend (the fastest on a machine without a GPU), and writes it into public/.
 *
 *   npm run pretrain                                   # mini preset -> public/checkpoints/default.safetensors
 *   npm run pretrain -- --preset tiny --steps 600 --out tests/fixtures/tiny-pretrained.safetensors
 *   npm run pretrain -- --init public/checkpoints/default.safetensors --steps 600 --lr 1e-3 --out /tmp/longer.safetensors
 *                                                      # more steps from a checkpoint (its tokenizer and weights)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { configFromPreset, countParams, presetOf, type PresetName } from '../src/lib/model/config';
import { checkpointOf, decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import { GPT } from '../src/lib/model/gpt';
import { sample } from '../src/lib/model/sampler';
import { BpeTokenizer } from '../src/lib/data/bpeTokenizer';
import { encodeDocuments, splitTrainVal } from '../src/lib/data/corpus';
import { TASK_FAMILIES } from '../src/lib/data/tasks/families';
import { generateMixedCorpus, mixFrom } from '../src/lib/data/tasks/mix';
import { generateCorpus, generatePrompts } from '../src/lib/data/world';
import { TrainingLoop } from '../src/lib/train/loop';
import { heldOutLoss, PretrainStage } from '../src/lib/train/pretrain';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: 'mini' },
    steps: { type: 'string', default: '3000' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '3e-3' },
    documents: { type: 'string', default: '20000' },
    vocab: { type: 'string', default: '512' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    init: { type: 'string' },
    // share of the documents that are task texts (data/tasks), the six families beyond stories in equal parts
    'task-share': { type: 'string', default: '0' },
  },
});

const backend = await useNodeBackend();
const steps = Number(args.steps);
const seed = Number(args.seed);
const taskShare = Number(args['task-share']);
const taskMix = mixFrom(Object.fromEntries(TASK_FAMILIES.filter((f) => f !== 'generation').map((f) => [f, 1])));
const documents =
  taskShare > 0
    ? generateMixedCorpus({ seed, documents: Number(args.documents), taskShare, mix: taskMix })
    : generateCorpus({ seed, documents: Number(args.documents) }).map((d) => d.text);
const init = args.init ? decodeCheckpoint(new Uint8Array(readFileSync(args.init))) : null;
// what the init checkpoint had been through, from the report beside it: the app shows the total steps
const initReport = init ? readReport(args.init!) : null;
const initSteps = Number(initReport?.steps ?? 0);
const tokenizer = init ? init.tokenizer : BpeTokenizer.train(documents.join('\n'), Number(args.vocab));
const split = splitTrainVal(documents, 0.1, seed);
const data = { train: encodeDocuments(tokenizer, split.train), val: encodeDocuments(tokenizer, split.val) };
const model = init ? modelFromCheckpoint(init) : GPT.init(configFromPreset(args.preset as PresetName, tokenizer.vocabSize), seed);
const config = model.config;
const preset = presetOf(config);
console.log(
  `${preset}: ${countParams(config).toLocaleString()} parameters, ${data.train.length.toLocaleString()} train tokens, backend ${backend}`,
);

const stage = new PretrainStage(model, data, {
  steps,
  batch_size: Number(args.batch),
  learning_rate: Number(args.lr),
  warmup_steps: init ? 0 : 100,
  seed,
});
const started = Date.now();
const loop = new TrainingLoop(
  stage,
  {
    onMetrics: (step, m, kind) => {
      if (kind === 'eval')
        console.log(`step ${step}: val_loss ${m.val_loss.toFixed(3)} (${((Date.now() - started) / 60000).toFixed(1)} min)`);
      else if (step % 50 === 0)
        console.log(`step ${step}: loss ${m.loss.toFixed(3)} lr ${m.lr.toExponential(2)} ${Math.round(m.tokens_per_s)} tok/s`);
    },
  },
  { evalEvery: 250 },
);
await loop.run();
if (loop.state === 'error') throw new Error(loop.message);

const valLoss = await heldOutLoss(model, data.val, 16, 16, seed);
const prompts = [...generatePrompts(seed + 100, 3), '', ''];
const encoded = prompts.map((p) => (p ? tokenizer.encode(p) : [tokenizer.eosId]));
const { completions } = await sample(model, encoded, {
  maxNewTokens: Math.min(100, config.blockSize - 30),
  temperature: 0.8,
  topK: 0,
  seed,
  eosId: tokenizer.eosId,
});
const samples = prompts.map((p, i) => p + tokenizer.decode(completions[i]));
// each run of a continued checkpoint, oldest first: the report keeps the whole history, the note the total
const history = [
  ...(initReport?.history ?? (init ? [{ steps: initSteps, note: init.note }] : [])),
  { steps, learning_rate: Number(args.lr), seed, documents: documents.length, ...(taskShare > 0 ? { taskShare } : {}), valLoss },
];
const note = `shipped ${preset} checkpoint: ${(initSteps + steps).toLocaleString('en')} steps on the built-in world corpus${taskShare > 0 || initReport?.history?.some((h) => 'taskShare' in h) ? ' and its tasks' : ''}, val loss ${valLoss.toFixed(3)}`;
const bytes = encodeCheckpoint(await checkpointOf(model, tokenizer, 'policy', new Map(), note));
mkdirSync(dirname(args.out!), { recursive: true });
writeFileSync(args.out!, bytes);
const report = {
  preset,
  params: countParams(config),
  steps: initSteps + steps,
  history,
  note,
  backend,
  valLoss,
  minutes: (Date.now() - started) / 60000,
  bytes: bytes.length,
  samples,
};
writeFileSync(args.out!.replace(/\.safetensors$/, '.json'), JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify(report, null, 2));

function readReport(checkpointPath: string): { steps?: number; history?: object[] } | null {
  try {
    return JSON.parse(readFileSync(checkpointPath.replace(/\.safetensors$/, '.json'), 'utf8'));
  } catch {
    return null;
  }
}
