/**
 * Nothing lost (issue #10): a reload mid-PPO, a full disk, no IndexedDB, a dead worker, a lost GPU
 * device and a second tab, each reproduced and recovered from. Tiny models: SwiftShader is slow.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { openApp, setSetting } from './app';

type Stages = Record<string, { state: string; step: number; total: number }>;
type Client = {
  api: Record<string, (...args: unknown[]) => Promise<unknown>> | null;
  status: { stages: Stages; settings: Record<string, Record<string, unknown>>; storage?: { persistent: boolean } };
  metrics: Record<string, unknown[]>;
  counters: { rankings: number } | null;
  recoveries: { reason: string; detectedAfterMs: number; restoreMs: number }[];
  debugTerminateWorker(): void;
  listen(listener: (e: { type: string; costMs?: number }) => void): () => void;
};
const TINY = [...readFileSync('tests/fixtures/tiny-pretrained.safetensors')];

const client = (page: Page) =>
  page.evaluate(() => {
    const p = (window as unknown as { playground: Client }).playground;
    return JSON.parse(JSON.stringify({ status: p.status, metrics: p.metrics, counters: p.counters, recoveries: p.recoveries })) as Client;
  });
const call = (page: Page, method: string, ...args: unknown[]) =>
  page.evaluate(([m, a]) => (window as unknown as { playground: Client }).playground.api![m as string](...(a as unknown[])), [
    method,
    args,
  ] as const);

/** The tiny model, some simulated rankings, a trained reward model; PPO-ptx configured for `iterations`. */
async function readyForPpo(page: Page, iterations: number): Promise<void> {
  await page.evaluate(async (bytes) => {
    const { api } = (window as unknown as { playground: Client }).playground;
    await api!.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained.safetensors');
    await api!.clearRankings();
    await api!.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.25 });
    await api!.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 120, k: 3 });
  }, TINY);
  await expect.poll(async () => (await client(page)).counters?.rankings ?? 0, { timeout: 180_000 }).toBeGreaterThanOrEqual(5);
  await call(page, 'setLabeler', { labelerId: null, agreement: 1, pace: 1, k: 3 });
  await call(page, 'configure', 'ppo', {
    iterations,
    batch_size: 2,
    mini_batch_size: 2,
    num_ppo_epochs: 1,
    response_length: 8,
    kl_coef: 0.07,
  });
  await call(page, 'run', 'reward');
  await expect.poll(async () => (await client(page)).status.stages.reward.state, { timeout: 240_000 }).toBe('done');
}

/** The tiny fixture as the policy and two rankings by a simulated labeler (what a fault must not lose). */
async function tinyWithTwoRankings(page: Page): Promise<void> {
  await page.evaluate(async (bytes) => {
    const { api } = (window as unknown as { playground: Client }).playground;
    await api!.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained.safetensors');
    await api!.clearRankings();
    await api!.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 1, k: 3 });
    await api!.labelerTick();
    await api!.labelerTick();
    await api!.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 3 });
  }, TINY);
}

test('(1) a reload mid-PPO restores the model, the stages (paused), the charts and the settings', async ({ page }) => {
  test.setTimeout(600_000);
  await openApp(page);
  await readyForPpo(page, 200);
  await call(page, 'run', 'ppo');
  await expect.poll(async () => (await client(page)).status.stages.ppo.step, { timeout: 240_000 }).toBeGreaterThanOrEqual(2);
  const cost = (await call(page, 'autosaveCost')) as { captureMs: number; totalMs: number };
  const silence = await page.evaluate(
    () => (window as unknown as { playground: { longestSilenceMs: number } }).playground.longestSilenceMs,
  );
  console.log(
    `autosave during PPO (tiny, webgpu/SwiftShader): capture ${cost.captureMs.toFixed(0)} ms, total ${cost.totalMs.toFixed(0)} ms; longest engine silence ${silence.toFixed(0)} ms`,
  );
  const before = await client(page);
  const savedStep = before.status.stages.ppo.step;
  await expect(page.getByTestId('model-lineage')).toHaveText(/^PPO-ptx iteration \d+ ← tiny-pretrained\.safetensors$/);

  page.once('dialog', (d) => void d.accept()); // beforeunload warns while PPO runs
  const began = Date.now();
  await page.reload();
  await expect(page.getByTestId('saved-at')).toContainText('restored from', { timeout: 120_000 });
  console.log(`reload to restored: ${Date.now() - began} ms`);
  const after = await client(page);
  expect(after.status.stages.ppo.state).toBe('paused');
  expect(after.status.stages.ppo.step).toBeGreaterThanOrEqual(savedStep - 1);
  expect(after.status.stages.reward.state).toBe('done');
  expect(after.status.settings.ppo).toMatchObject({ iterations: 200, kl_coef: 0.07 });
  expect(after.metrics.ppo.length).toBeGreaterThanOrEqual(savedStep - 1);
  await expect(page.getByTestId('model-info')).toContainText('tiny-pretrained');
  // the model card's lineage is the restored one: the iteration restored, on the model it began from
  await expect(page.getByTestId('model-lineage')).toHaveText(
    `PPO-ptx iteration ${after.status.stages.ppo.step} ← tiny-pretrained.safetensors`,
  );
  // it continues: no "Train the reward model first"
  await call(page, 'step', 'ppo');
  expect((await client(page)).status.stages.ppo.step).toBe(after.status.stages.ppo.step + 1);
});

test('(2, 3) a full disk: an import is refused whole with its cause, memory and store agree; a failed save never says "Saved"; the UI offers to free space', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(300_000);
  // The real quota, through the DevTools protocol, sent before the app first opens IndexedDB: Chromium's IndexedDB
  // keeps the free space it last checked for a while, so an override sent once the app is running (as an earlier
  // version of this test did) goes unseen. navigator.storage.estimate() keeps reporting 10 GB either way.
  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(baseURL!).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 3_000_000 });
  await page.goto('/checkpoints/default.json');
  // a checkpoint saved earlier (1 MB of bytes stand in for it), which the "free space" offer below deletes
  const seeded = await page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const open = indexedDB.open('rlhf-playground', 3);
        open.onupgradeneeded = () =>
          ['checkpoints', 'rankings', 'demonstrations', 'settings', 'runs', 'autosave'].forEach((n) => open.result.createObjectStore(n));
        open.onsuccess = () => {
          const tx = open.result.transaction('checkpoints', 'readwrite');
          tx.objectStore('checkpoints').put(randomBytes(), 'old');
          tx.oncomplete = () => (open.result.close(), resolve('ok'));
          tx.onabort = () => resolve(String(tx.error));
        };
        function randomBytes(): Uint8Array {
          const bytes = new Uint8Array(1_000_000);
          for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
          return bytes;
        }
      }),
  );
  expect(seeded).toBe('ok');
  await openApp(page);
  await call(page, 'clearRankings');
  // random letters: the store compresses, and a repeated letter would take next to no room
  const noise = () => Array.from({ length: 1000 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
  const line = (i: number) =>
    JSON.stringify({
      id: `q${i}`,
      prompt: `prompt ${i} ${noise()}`,
      completions: ['a b c', 'd e f', 'g h i'],
      order: [2, 0, 1],
      createdAt: i + 1,
      source: 'import',
    });
  const importText = (t: string) =>
    page.evaluate(async (text) => {
      try {
        return { ok: true, value: await (window as unknown as { playground: Client }).playground.api!.importRankings(text) };
      } catch (err) {
        return { ok: false, error: String((err as Error).message), value: null };
      }
    }, t);
  // 20 fit: the import says exactly what it kept, and memory holds just those. (Before the refused import below: the
  // room a refused 3.3 MB write took is not always given back at once, so 20 after it did not always fit.)
  const small = await importText(Array.from({ length: 20 }, (_, i) => line(5000 + i)).join('\n'));
  expect(small).toMatchObject({ ok: true });
  expect(small.value).toMatchObject({ added: 20, errors: [], counters: { rankings: 20 } });
  // 3000 rankings (about 3.3 MB) do not fit in what is left (under 2 MB): refused whole, with the cause
  const got = await importText(Array.from({ length: 3000 }, (_, i) => line(i)).join('\n'));
  expect(got.ok).toBe(false);
  expect(got.error).toMatch(/full \(quota exceeded\).*None of its 3000 new rankings were kept; you still have the 20 you had/);
  const inMemory = ((await call(page, 'counters')) as { rankings: number }).rankings;
  expect(inMemory).toBe(20);
  const kept = ((await call(page, 'counters')) as { rankings: number }).rankings;
  expect(kept).toBe(inMemory);

  // the checkpoint save: the error, not "Saved in this browser", and nothing listed under its name
  const saved = await page.evaluate(async () => {
    try {
      await (window as unknown as { playground: Client }).playground.api!.saveToBrowser('q1');
      return 'saved';
    } catch (err) {
      return String((err as Error).message);
    }
  });
  // the shipped mini checkpoint (3.5 MB) does not fit
  expect(saved).toMatch(/full \(quota exceeded\).*Nothing was saved under "q1"/);
  expect(await call(page, 'listSaved')).toEqual(['old']);

  // the autosave: refused with its cause, and the UI hears it (not a blank reason)
  const autosave = await page.evaluate(() =>
    (window as unknown as { playground: Client }).playground.api!.saveNow().then(
      () => 'saved',
      (err: Error) => err.message,
    ),
  );
  expect(autosave).toMatch(/Autosave failed: .*full \(quota exceeded\)/);
  const banner = page.getByTestId('error-banner');
  await expect(banner).toContainText('Autosave failed');

  // where the quota error shows: download the rankings, and free space after a confirmation that names what goes
  const download = page.waitForEvent('download');
  await banner.getByTestId('download-rankings-now').click();
  const file = await (await download).path();
  expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(kept);
  await banner.getByTestId('free-space').click();
  await expect(banner.getByTestId('free-space-plan')).toContainText('Delete 1 checkpoint saved in this browser (old)');
  await banner.getByTestId('free-space-confirm').click();
  await expect(banner.getByTestId('free-space-result')).toContainText('Deleted 1 saved checkpoint');
  expect(await call(page, 'listSaved')).toEqual([]);

  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await page.reload();
  await expect(page.getByTestId('backend')).toBeVisible({ timeout: 120_000 });
  // the store holds exactly what memory held
  expect(((await call(page, 'counters')) as { rankings: number }).rankings).toBe(kept);
});

test('(4) without IndexedDB the app still runs, says storage is off, and trains', async ({ page }) => {
  test.setTimeout(300_000);
  await page.addInitScript(() => {
    // IndexedDB that cannot open, as in some private modes (the worker gets the same in its scope below)
    const fail = () => {
      throw new DOMException('The user denied permission to access the database.', 'SecurityError');
    };
    Object.defineProperty(IDBFactory.prototype, 'open', { value: fail });
  });
  // workers do not run init scripts: break IndexedDB in the engine worker by its own route
  await page.context().route('**/*engine.worker*.js', async (route) => {
    const response = await route.fetch();
    const body = `Object.defineProperty(IDBFactory.prototype,'open',{value(){throw new DOMException('denied','SecurityError')}});\n${await response.text()}`;
    await route.fulfill({ response, body });
  });
  await openApp(page);
  await expect(page.getByTestId('storage-off')).toContainText('storage is off');
  await page.evaluate(async (bytes) => {
    const { api } = (window as unknown as { playground: Client }).playground;
    await api!.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained.safetensors');
    await api!.configure('pretrain', { batch_size: 2, steps: 10, eval_every: 1000, sample_every: 1000 });
    await api!.step('pretrain');
    await api!.step('pretrain');
  }, TINY);
  await expect.poll(async () => (await client(page)).status.stages.pretrain.step).toBe(2);
});

test('(5) a terminated worker is detected and replaced within 5 s; rankings and the session survive', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page);
  await tinyWithTwoRankings(page);
  const ranked = ((await call(page, 'counters')) as { rankings: number }).rankings;
  await page.evaluate(() => (window as unknown as { playground: Client }).playground.debugTerminateWorker());
  // a call made now fails with a reason instead of hanging
  const pending = page.evaluate(async () => {
    try {
      await (window as unknown as { playground: Client }).playground.api!.nextRankingTask(3);
      return 'answered';
    } catch (err) {
      return String((err as Error).message);
    }
  });
  await expect(page.getByTestId('engine-notice')).toContainText('engine worker stopped', { timeout: 5_000 });
  expect(await pending).toMatch(/engine worker stopped|restarting/);
  await expect(page.getByTestId('engine-notice')).toContainText('A new engine started', { timeout: 120_000 });
  const after = await client(page);
  console.log(
    `dead worker: detected after ${after.recoveries[0].detectedAfterMs.toFixed(0)} ms, restored in ${after.recoveries[0].restoreMs.toFixed(0)} ms`,
  );
  expect(after.recoveries[0].detectedAfterMs).toBeLessThan(5_000);
  expect(((await call(page, 'counters')) as { rankings: number }).rankings).toBe(ranked);
});

test('(5b) a hung worker thread is detected within 5 s and replaced; rankings and the session survive', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page);
  await tinyWithTwoRankings(page);
  await expect(page.getByTestId('saved-at')).toBeVisible({ timeout: 60_000 });
  const ranked = ((await call(page, 'counters')) as { rankings: number }).rankings;
  // the worker's thread spins for 60 s, as an endless loop would: its nested pulse goes on, its heartbeat stops
  const hung = page.evaluate(() => {
    const started = performance.now();
    const { api } = (window as unknown as { playground: Client }).playground;
    return api!.debugHang(60_000).then(
      () => ({ answer: 'answered', ms: performance.now() - started }),
      (err: Error) => ({ answer: err.message, ms: performance.now() - started }),
    );
  });
  await expect(page.getByTestId('engine-notice')).toContainText('stopped responding', { timeout: 6_000 });
  const failed = await hung;
  // the call that hung fails with the reason, within 5 s of the hang, instead of waiting for the thread
  expect(failed.answer).toMatch(/stopped responding/);
  expect(failed.ms).toBeLessThan(5_500);
  await expect(page.getByTestId('engine-notice')).toContainText('A new engine started', { timeout: 120_000 });
  const after = await client(page);
  console.log(
    `hung worker: detected after ${after.recoveries[0].detectedAfterMs.toFixed(0)} ms of silence (the hung call failed after ${failed.ms.toFixed(0)} ms), restored in ${after.recoveries[0].restoreMs.toFixed(0)} ms`,
  );
  expect(after.recoveries[0].detectedAfterMs).toBeLessThan(5_000);
  await expect(page.getByTestId('model-info')).toContainText('tiny-pretrained');
  expect(((await call(page, 'counters')) as { rankings: number }).rankings).toBe(ranked);
});

test('(6) a destroyed GPU device: the engine restarts, restores the session and says what happened', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page);
  await page.evaluate(async (bytes) => {
    const { api } = (window as unknown as { playground: Client }).playground;
    await api!.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained.safetensors');
  }, TINY);
  await expect(page.getByTestId('saved-at')).toBeVisible({ timeout: 60_000 });
  expect(await call(page, 'debugLoseDevice')).toBe(true);
  await expect(page.getByTestId('engine-notice')).toContainText('The GPU stopped working', { timeout: 10_000 });
  await expect(page.getByTestId('engine-notice')).toContainText('A new engine started on', { timeout: 120_000 });
  await expect(page.getByTestId('model-info')).toContainText('tiny-pretrained');
  const after = await client(page);
  console.log(`lost device: restored in ${after.recoveries[0].restoreMs.toFixed(0)} ms`);
  // the new engine computes
  expect(((await call(page, 'sample', { count: 1, maxNewTokens: 4 })) as unknown[]).length).toBe(1);
});

test('(7) a second tab does not run a second engine; taking over stops the first', async ({ page, context }) => {
  test.setTimeout(300_000);
  await openApp(page);
  const second = await context.newPage();
  await second.goto('/');
  await expect(second.getByTestId('open-elsewhere')).toBeVisible({ timeout: 30_000 });
  expect(await second.evaluate(() => (window as unknown as { playground: Client }).playground.api)).toBeNull();
  await second.getByTestId('take-over').click();
  await expect(second.getByTestId('backend')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('open-elsewhere')).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId('engine-notice')).toContainText('Another tab took the playground over');
  expect(await page.evaluate(() => (window as unknown as { playground: Client }).playground.api)).toBeNull();
});

test('(8) the autosave of the shipped mini model on wasm: its cost, during SFT steps and when idle', async ({ page }) => {
  test.setTimeout(600_000);
  await openApp(page, '?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'wasm');
  await expect(page.getByTestId('model-info')).toContainText('mini');
  await page.evaluate(() => {
    const p = (window as unknown as { playground: Client & { savedCosts: number[] } }).playground;
    p.savedCosts = [];
    p.listen((e) => e.type === 'saved' && p.savedCosts.push(e.costMs ?? NaN));
  });
  await call(page, 'step', 'sft');
  await call(page, 'step', 'sft');
  const idle: number[] = [];
  for (let i = 0; i < 3; i++) idle.push((await call(page, 'saveNow')) as number);
  const figures = await page.evaluate(() => {
    const p = (window as unknown as { playground: Client & { savedCosts: number[]; longestSilenceMs: number } }).playground;
    return { saved: p.savedCosts, longestSilenceMs: p.longestSilenceMs };
  });
  const cost = (await call(page, 'autosaveCost')) as { captureMs: number; totalMs: number };
  const all = [...figures.saved];
  console.log(
    `autosave (shipped mini, wasm): every save ${all.map((ms) => ms.toFixed(0)).join(', ')} ms (the last three on request: ${idle
      .map((ms) => ms.toFixed(0))
      .join(', ')}); last capture ${cost.captureMs.toFixed(0)} ms; longest engine silence ${figures.longestSilenceMs.toFixed(0)} ms`,
  );
  expect(all.length).toBeGreaterThanOrEqual(4);
  expect(all.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
  // a save on request, beside no training step: under 300 ms (one during a step waits for the step's synchronous stretch)
  expect(idle.sort((a, b) => a - b)[1]).toBeLessThan(300);
});

// ---- Issue 19 (5, 6): a hang found within 10 s on every backend in any phase; settings that outlive the worker ----

/** The silence a hang notice gives ("its thread was stuck for 8.3 s"), in ms. */
const stuckForMs = (notice: string) => Number(/stuck for ([\d.]+) s/.exec(notice)?.[1]) * 1000;
const longestSilenceMs = (page: Page) =>
  page.evaluate(() => (window as unknown as { playground: { longestSilenceMs: number } }).playground.longestSilenceMs);

/** Hangs the worker's thread for 60 s from a call, as an endless loop would: the call's fate and when it came. */
const hangWorker = (page: Page) =>
  page.evaluate(() => {
    const started = performance.now();
    return (window as unknown as { playground: Client }).playground.api!.debugHang(60_000).then(
      () => ({ answer: 'answered', ms: performance.now() - started }),
      (err: Error) => ({ answer: err.message, ms: performance.now() - started }),
    );
  });

for (const { backend, query, tiny } of [
  { backend: 'wasm', query: '?backend=wasm', tiny: false },
  { backend: 'webgpu', query: '', tiny: true },
]) {
  test(`(19.5, ${backend}) a hang injected mid-step during pretraining is found within 10 s; the notice says how long it was silent`, async ({
    page,
  }) => {
    test.setTimeout(600_000);
    await openApp(page, query);
    await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', backend);
    // wasm: the shipped mini model, whose steps must hold no stretch near the bound; SwiftShader's WebGPU is slow: tiny
    if (tiny)
      await page.evaluate(async (bytes) => {
        await (window as unknown as { playground: Client }).playground.api!.importCheckpoint(new Uint8Array(bytes), 'tiny.safetensors');
      }, TINY);
    else await expect(page.getByTestId('model-info')).toContainText('mini');
    // an evaluation and a sampling after every step: each phase of a pretraining step runs before the hang
    await call(page, 'configure', 'pretrain', { eval_every: 1, sample_every: 1 });
    await call(page, 'run', 'pretrain');
    await expect.poll(async () => (await client(page)).status.stages.pretrain.step, { timeout: 300_000 }).toBeGreaterThanOrEqual(3);
    const silentBefore = await longestSilenceMs(page);
    expect((await client(page)).recoveries).toEqual([]); // no false alarm while it trained
    // the call is handled between two parts of a step; then the thread spins for 60 s, as an endless loop would
    const hung = hangWorker(page);
    await expect(page.getByTestId('engine-notice')).toContainText('stopped responding', { timeout: 10_000 });
    const failed = await hung;
    expect(failed.answer).toMatch(/stopped responding/);
    expect(failed.ms).toBeLessThan(10_000);
    await expect(page.getByTestId('engine-notice')).toContainText('A new engine started', { timeout: 180_000 });
    const after = await client(page);
    const { reason, detectedAfterMs, restoreMs } = after.recoveries[0];
    console.log(
      `hang mid-pretraining (${tiny ? 'tiny' : 'shipped mini'}, ${backend}): detected after ${detectedAfterMs.toFixed(0)} ms of silence ` +
        `(the hung call failed after ${failed.ms.toFixed(0)} ms; notice: "${reason}"), restored in ${restoreMs.toFixed(0)} ms; ` +
        `longest silence before, over 3 steps with evaluation and samples: ${silentBefore.toFixed(0)} ms`,
    );
    expect(after.recoveries).toHaveLength(1);
    expect(detectedAfterMs).toBeLessThan(10_000);
    expect(Math.abs(stuckForMs(reason) - detectedAfterMs)).toBeLessThanOrEqual(50); // the silence measured, not the bound
    await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', backend);
    expect(after.status.stages.pretrain.state).toBe('paused');
  });
}

test('(19.5, wasm, PPO-ptx) a hang injected while PPO-ptx samples is found within 10 s', async ({ page }) => {
  test.setTimeout(600_000);
  await openApp(page, '?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'wasm');
  await readyForPpo(page, 200);
  await call(page, 'run', 'ppo');
  await expect.poll(async () => (await client(page)).status.stages.ppo.step, { timeout: 240_000 }).toBeGreaterThanOrEqual(2);
  // an autosave after that (boundary saves come at most every 1.5 s), so that the new engine has PPO-ptx to restore
  const saves = () => page.evaluate(() => (window as unknown as { playground: { saves: number } }).playground.saves);
  await page.evaluate(() => {
    const p = (window as unknown as { playground: Client & { saves: number } }).playground;
    p.saves = 0;
    p.listen((e) => e.type === 'saved' && p.saves++);
  });
  await expect.poll(saves, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
  const silentBefore = await longestSilenceMs(page);
  const phaseOf = async () => (await client(page)).status.stages.ppo as { phase?: { name: string } };
  await expect.poll(async () => (await phaseOf()).phase?.name, { timeout: 120_000, intervals: [20] }).toBe('sampling');
  const hung = hangWorker(page);
  const phase = (await phaseOf()).phase?.name;
  await expect(page.getByTestId('engine-notice')).toContainText('stopped responding', { timeout: 10_000 });
  const failed = await hung;
  await expect(page.getByTestId('engine-notice')).toContainText('A new engine started', { timeout: 180_000 });
  const { reason, detectedAfterMs } = (await client(page)).recoveries[0];
  console.log(
    `hang during PPO-ptx (tiny, wasm; phase on show: ${phase}): detected after ${detectedAfterMs.toFixed(0)} ms of silence ` +
      `(the hung call failed after ${failed.ms.toFixed(0)} ms; notice: "${reason}"); longest silence before: ${silentBefore.toFixed(0)} ms`,
  );
  expect(failed.answer).toMatch(/stopped responding/);
  expect(detectedAfterMs).toBeLessThan(10_000);
  expect(Math.abs(stuckForMs(reason) - detectedAfterMs)).toBeLessThanOrEqual(50);
  expect((await client(page)).status.stages.ppo.state).toBe('paused');
});

test('(19.6) a setting changed with no training since outlives a killed worker', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page);
  await page.evaluate(() => {
    const p = (window as unknown as { playground: Client & { saves: number } }).playground;
    p.saves = 0;
    p.listen((e) => e.type === 'saved' && p.saves++);
  });
  await setSetting(page, 'pretrain', 'steps', 77);
  await call(page, 'configure', 'sft', { learning_rate: 0.0002 });
  // each change saves itself (the second is queued behind the first); no step, no save on request
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { playground: { saves: number } }).playground.saves), { timeout: 30_000 })
    .toBe(2);
  await page.evaluate(() => (window as unknown as { playground: Client }).playground.debugTerminateWorker());
  await expect(page.getByTestId('engine-notice')).toContainText('A new engine started', { timeout: 120_000 });
  const after = await client(page);
  expect(after.recoveries).toHaveLength(1);
  expect(after.status.settings.pretrain).toMatchObject({ steps: 77 });
  expect(after.status.settings.sft).toMatchObject({ learning_rate: 0.0002 });
  await expect(page.getByTestId('setting-pretrain-steps')).toHaveValue('77');
});

test("(19.6b) a link's settings apply in the second tab that takes over", async ({ page, context }) => {
  test.setTimeout(300_000);
  await openApp(page);
  const second = await context.newPage();
  await second.goto('/?pretrain.steps=77&sft.learning_rate=0.0002');
  await expect(second.getByTestId('open-elsewhere')).toBeVisible({ timeout: 30_000 });
  await second.getByTestId('take-over').click();
  await expect(second.getByTestId('backend')).toBeVisible({ timeout: 120_000 });
  await expect.poll(async () => (await client(second)).status.settings.pretrain.steps, { timeout: 60_000 }).toBe(77);
  expect((await client(second)).status.settings.sft).toMatchObject({ learning_rate: 0.0002 });
  await expect(second.getByTestId('setting-pretrain-steps')).toHaveValue('77');
  expect(new URL(second.url()).searchParams.get('pretrain.steps')).toBe('77'); // the address still holds the link
  await expect(second.getByTestId('error-banner')).toHaveCount(0);
});
