/**
 * Measures how long the engine's thread goes without yielding to its event loop (what the watchdog's
 * hung-worker bound must exceed): the session on the shipped mini model on wasm in Node, through
 * sampling, pretraining, SFT, the reward model, one PPO-ptx iteration at the default settings,
 * checkpoint import and export, a fresh BPE model, and two steps of some lessons at the sizes for wasm
 * (LESSONS=id,id; empty for none). A 10 ms timer notes every gap; the longest per phase is printed.
 *   npx tsx scripts/measure-stalls.ts            (TF_BACKEND=cpu for the pure-JS backend)
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { Session } from '../src/lib/session/session';
import { useNodeBackend } from './node-backend';

let last = performance.now();
let longest = 0;
/** What the session said last (a phase inside a step, a metric), to name where a long gap ended. */
let said = '';
const gaps: string[] = [];
setInterval(() => {
  const now = performance.now();
  if (now - last > 1000) gaps.push(`${(now - last).toFixed(0)} ms, ended after: ${said}`);
  longest = Math.max(longest, now - last);
  last = now;
}, 10);
const yieldNow = () => new Promise((r) => setTimeout(r, 0));

const figures: Record<string, { longestGapMs: number; totalMs: number }> = {};

async function phase(name: string, action: () => unknown): Promise<void> {
  await new Promise((r) => setTimeout(r, 30));
  longest = 0;
  last = performance.now();
  const began = performance.now();
  await action();
  await new Promise((r) => setTimeout(r, 30));
  figures[name] = { longestGapMs: Math.round(longest), totalMs: Math.round(performance.now() - began) };
  console.log(name, figures[name], gaps.splice(0));
}

/**
 * Pause latency: PPO-ptx runs and is paused at spread-out moments (the pause is asked for by a timer, which fires late
 * when the thread is held, as a message from the page would be handled late); from when it was due until the state
 * says paused. Then it runs on.
 */
async function pauses(s: Session, count: number): Promise<void> {
  const latencies: string[] = [];
  for (let i = 0; i < count; i++) {
    void s.run('ppo');
    const due = performance.now() + 3000 + 2300 * i;
    await new Promise((r) => setTimeout(r, due - performance.now()));
    const where = said;
    await s.pause('ppo');
    latencies.push(`${(performance.now() - due).toFixed(0)} ms (${where})`);
  }
  console.log('pause latencies:', latencies);
}

async function main(): Promise<void> {
  const name = await useNodeBackend();
  const s = new Session(
    { name: name as 'wasm', adapter: 'node', fallbackReasons: [] },
    (e) => {
      if (e.type === 'state') said = `${e.stage} ${e.status.state} step ${e.status.step} ${e.status.phase?.label ?? ''}`;
      else if (e.type === 'metrics') said = `${e.stage} metrics ${e.points.map((p) => p.kind).join(',')}`;
    },
    async (p) => new Uint8Array(readFileSync(p.replace(/^\//, 'public/'))),
  );
  s.setCorpus({ kind: 'builtin' });
  await phase('load shipped checkpoint', () => s.loadCheckpointUrl('/checkpoints/default.safetensors'));
  await s.restore();
  await phase('sample 3 x 64 tokens', () => s.sample({ count: 3, maxNewTokens: 64 }));
  s.configure('pretrain', { steps: 2 });
  await phase('pretrain 2 steps and the validation loss (defaults)', async () => {
    await s.step('pretrain');
    await yieldNow();
    await s.step('pretrain');
  });
  await phase('SFT 2 steps (defaults)', async () => {
    await s.step('sft');
    await yieldNow(); // the run loop yields between steps
    await s.step('sft');
  });
  await s.clearRankings();
  s.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 1, k: 4 });
  await phase('6 simulated rankings', async () => {
    for (let i = 0; i < 6; i++) await s.labelerTick();
  });
  s.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 4 });
  await phase('reward model 2 steps (defaults)', async () => {
    await s.step('reward');
    await yieldNow();
    await s.step('reward');
  });
  await phase('PPO-ptx 1 iteration (defaults)', () => s.step('ppo'));
  await phase('PPO-ptx running, paused at 6 moments', () => pauses(s, 6));
  for (const id of (process.env.LESSONS ?? 'instruction-following,alignment-tax,win-rate').split(',').filter(Boolean)) {
    await s.loadCheckpointUrl('/checkpoints/default.safetensors');
    await phase(`lesson ${id}: 2 steps (mini-cpu sizes)`, async () => {
      await s.stepLesson(id);
      await s.stepLesson(id);
    });
  }
  const bytes = await s.exportCheckpoint();
  await phase('export checkpoint', () => s.exportCheckpoint());
  await phase('import checkpoint', () => s.importCheckpoint(bytes, 'again'));
  await phase('new mini model (BPE 512)', () => s.newModel({ preset: 'mini', tokenizer: 'bpe' }));
  const worst = Math.max(...Object.values(figures).map((f) => f.longestGapMs));
  console.log(JSON.stringify({ backend: name, model: 'shipped mini', longestGapMs: worst, figures }, null, 1));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
