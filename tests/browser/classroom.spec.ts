// Classroom mode end to end: the real sync server (scripts/classroom.ts serving dist/), the lecturer's panel on a
// fake engine (classroom-test.html) and three student contexts, one at phone size. Tasks reach the students,
// rankings reach the lecturer's intake once, a reloaded student and a server restart duplicate and lose nothing,
// a forged ranking and a garbage burst are refused without stalling the lecturer's page; a guessed room code gets no
// websocket, and a server that refuses the class is named in the lecturer's panel.
import { staticChunks, TFJS_MARKS } from './bundle';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { startClassroomServer, type ClassroomServer } from '../../scripts/classroom';
import { publicKeyOf, studentIdOf } from '../../src/classroom/identity';

test('the student page bundle contains no tfjs and no worker', () => {
  const chunks = staticChunks('dist', 'student.html');
  expect(chunks.length).toBeGreaterThan(0);
  for (const file of chunks) {
    const code = readFileSync(join('dist', file), 'utf8');
    for (const mark of TFJS_MARKS) expect(code, `${file} should not contain ${mark}`).not.toMatch(mark);
    expect(code, `${file} should start no worker`).not.toMatch(/new Worker\(/);
  }
});

interface Student {
  name: string;
  context: BrowserContext;
  page: Page;
}

interface Engine {
  submissions: Array<{ id: string; taskId: string; annotator: string }>;
}

let server: ClassroomServer;
let base = '';

test.beforeAll(async () => {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: 'dist' });
  base = `http://127.0.0.1:${server.port}`;
});

test.afterAll(async () => {
  await server?.close();
});

async function submissions(lecturer: Page): Promise<Engine['submissions']> {
  return lecturer.evaluate(() =>
    (window as unknown as { classroomTest: { engine: Engine } }).classroomTest.engine.submissions.map((s) => ({ ...s })),
  );
}

async function joinStudent(browser: Browser, link: string, name: string, phone = false): Promise<Student> {
  const context = await browser.newContext(phone ? { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true } : {});
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByTestId('student-status')).toHaveAttribute('data-status', 'online');
  await page.getByTestId('student-alias').fill(name);
  await page.getByTestId('student-alias-save').click();
  return { name, context, page };
}

/** Ranks the task on show (completions in task order, tapped on the phone), returns its id. */
async function rank(s: Student, phone = false): Promise<string> {
  const task = s.page.getByTestId('student-task');
  await expect(task).toBeVisible();
  const id = (await task.getAttribute('data-task-id'))!;
  const k = await s.page.locator('[data-testid^="student-item-"]').count();
  for (let i = 0; i < k - 1; i++) {
    const item = s.page.getByTestId(`student-item-${i}`);
    if (phone) await item.tap();
    else await item.click();
  }
  await expect(s.page.getByTestId(`student-ranked-${k - 1}`)).toBeVisible();
  await s.page.getByTestId('student-submit').click();
  await expect(s.page.locator(`[data-testid="student-task"][data-task-id="${id}"]`)).toHaveCount(0);
  return id;
}

/** The student id of a student page: a hash of the public key of the secret key it keeps. */
async function studentIdIn(page: Page, room: string): Promise<string> {
  const stored = await page.evaluate((r) => localStorage.getItem(`rlhf-classroom:${r}`)!, room);
  return studentIdOf(publicKeyOf((JSON.parse(stored) as { secretKey: string }).secretKey));
}

/** A Node Yjs client in the room: what a student with its own code could write. */
async function rogueClient(room: string): Promise<{ doc: Y.Doc; stop: () => void }> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${server.port}`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  await new Promise<void>((done) => provider.once('sync', () => done()));
  return { doc, stop: () => provider.destroy() };
}

test('a class: three students (one on a phone) rank, reload, survive a restart; forgery and garbage are refused', async ({ browser }) => {
  const lecturer = await (await browser.newContext()).newPage();
  await lecturer.addInitScript(() => {
    const longTasks: number[] = [];
    (window as unknown as { longTasks: number[] }).longTasks = longTasks;
    new PerformanceObserver((list) => list.getEntries().forEach((e) => longTasks.push(e.duration))).observe({
      type: 'longtask',
      buffered: false,
    });
  });
  await lecturer.goto(`${base}/classroom-test.html`);
  expect(await lecturer.evaluate(() => crossOriginIsolated), 'the classroom server serves pages cross-origin isolated').toBe(true);
  await lecturer.getByTestId('classroom-start').click();
  await expect(lecturer.getByTestId('classroom-qr')).toBeVisible();
  await expect(lecturer.getByTestId('classroom-connection')).toContainText('connected');
  const room = (await lecturer.getByTestId('classroom-code').getAttribute('data-room'))!;
  expect(room).toMatch(/^[a-z2-7]{16}$/);
  const joinHref = (await lecturer.getByTestId('classroom-join-link').getAttribute('href'))!;
  const joinUrl = new URL(joinHref);
  expect(joinUrl.pathname).toBe('/student.html');
  expect(joinUrl.hash).toContain(`room=${room}`);
  const lecturerKey = new URLSearchParams(joinUrl.hash.slice(1)).get('lk');
  expect(lecturerKey).toMatch(/^[0-9a-f]{64}$/);
  // The link names this machine's LAN address; the test reaches the same server on loopback.
  const link = `${base}/student.html#room=${room}&ws=${encodeURIComponent(`ws://127.0.0.1:${server.port}`)}&lk=${lecturerKey}`;

  // a malformed room name, or a well-formed one no lecturer created, gets no websocket at all
  for (const path of ['not-a-room', 'abcdefghijklmnop']) {
    const wrongRoom = await lecturer.evaluate(
      (url) =>
        new Promise<string>((done) => {
          const ws = new WebSocket(url);
          ws.onopen = () => done('open');
          ws.onerror = () => done('refused');
        }),
      `ws://127.0.0.1:${server.port}/${path}`,
    );
    expect(wrongRoom).toBe('refused');
  }
  expect(server.roomCount()).toBe(1);

  const ana = await joinStudent(browser, link, 'Ana');
  const ben = await joinStudent(browser, link, 'Ben');
  const cai = await joinStudent(browser, link, 'Cai', true);
  const first = await Promise.all([rank(ana), rank(ben), rank(cai, true)]);
  expect(new Set(first).size).toBe(1); // the first task went to all three
  await expect(lecturer.getByTestId('classroom-accepted')).toHaveText('3');
  await expect(lecturer.getByTestId('classroom-agreement')).toHaveText('100.0%');
  await expect(cai.page.getByTestId('student-count')).toHaveAttribute('data-accepted', '1');
  expect(await submissions(lecturer)).toHaveLength(3);

  // reload: Ana's page comes back as a new Yjs client with the same identity, re-claims her seat, duplicates nothing
  await ana.page.reload();
  await expect(ana.page.getByTestId('student-count')).toHaveAttribute('data-accepted', '1');
  await rank(ana);
  await expect(lecturer.getByTestId('classroom-accepted')).toHaveText('4');

  // server restart: Ben ranks while the server is down; it arrives once when everyone is back
  const port = server.port;
  await server.close();
  await expect(ben.page.getByTestId('student-status')).toHaveAttribute('data-status', 'offline');
  await rank(ben); // his second task reached him before the cut; the ranking waits in his page
  server = await startClassroomServer({ port, host: '127.0.0.1', distDir: 'dist' });
  await expect(ben.page.getByTestId('student-status')).toHaveAttribute('data-status', 'online', { timeout: 20_000 });
  await expect(lecturer.getByTestId('classroom-connection')).toContainText('connected');
  await expect.poll(async () => (await submissions(lecturer)).length, { timeout: 20_000 }).toBe(5);
  const caiCount = (await submissions(lecturer)).length;
  await rank(cai, true);
  await expect.poll(async () => (await submissions(lecturer)).length).toBe(caiCount + 1);

  // a forged ranking: a client writes into Ana's area, for the task she holds
  const anaId = await studentIdIn(ana.page, room);
  const anaTask = (await ana.page.getByTestId('student-task').getAttribute('data-task-id'))!;
  const rogue = await rogueClient(room);
  const before = (await submissions(lecturer)).length;
  rogue.doc.getMap(`s:${anaId}`).set(`r:${anaTask}`, { taskId: anaTask, order: [2, 1, 0], submittedAt: Date.now() });
  await expect
    .poll(async () => Number(await lecturer.getByTestId('classroom-refused').getAttribute('data-forged')))
    .toBeGreaterThanOrEqual(1);
  expect((await submissions(lecturer)).some((s) => s.id === `${anaId}:${anaTask}`)).toBe(false);
  expect((await submissions(lecturer)).length).toBe(before); // nothing forged reached the engine
  // and Ana's page still offers her the task: a ranking someone else wrote in her area is not hers
  await expect(ana.page.locator(`[data-testid="student-task"][data-task-id="${anaTask}"]`)).toBeVisible();

  // a burst of 200 garbage messages does not stall the lecturer's page
  await lecturer.evaluate(() => ((window as unknown as { longTasks: number[] }).longTasks.length = 0));
  const area = rogue.doc.getMap(`s:${anaId}x`);
  for (let i = 0; i < 200; i++) area.set(`r:junk-${i}`, i % 2 ? 'x'.repeat(2000) : { taskId: `junk-${i}`, order: 'nope', submittedAt: 0 });
  await expect
    .poll(async () => Number(await lecturer.getByTestId('classroom-refused').textContent()), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(200);
  const longest = await lecturer.evaluate(() => Math.max(0, ...(window as unknown as { longTasks: number[] }).longTasks));
  expect(longest, 'longest main-thread task during the burst (ms)').toBeLessThan(200);
  rogue.stop();

  // no ranking was taken twice
  const all = await submissions(lecturer);
  expect(new Set(all.map((s) => s.id)).size).toBe(all.length);

  // pause intake, remove a device, export
  await lecturer.getByTestId('classroom-pause').click();
  await expect(ben.page.getByTestId('student-paused')).toBeVisible();
  await expect(lecturer.getByTestId('classroom-pause')).toHaveText('Resume intake');
  await lecturer.getByTestId('classroom-pause').click();
  await expect(ben.page.getByTestId('student-paused')).toHaveCount(0);
  const benId = await studentIdIn(ben.page, room);
  await lecturer.getByTestId(`classroom-remove-${benId}`).click();
  await expect(ben.page.getByTestId('student-removed')).toBeVisible();
  const [download] = await Promise.all([lecturer.waitForEvent('download'), lecturer.getByTestId('classroom-export').click()]);
  const lines = readFileSync((await download.path())!, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { annotator: string; chosen: string; rejected: string; prompt: string });
  expect(lines.length).toBe(all.length * 3); // K = 3: three pairs per ranking
  expect(lines.every((l) => l.annotator.startsWith('classroom:') && typeof l.chosen === 'string')).toBe(true);

  for (const s of [ana, ben, cai]) await s.context.close();
});

test("the lecturer's panel says why the server refuses a class: its room cap, or no server at all", async ({ browser }) => {
  const full = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: 'dist', maxRooms: 1 });
  try {
    const taken = await fetch(`http://127.0.0.1:${full.port}/rooms/${'a'.repeat(16)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${full.lecturerToken}` },
    });
    expect(taken.status).toBe(201);
    const lecturer = await (await browser.newContext()).newPage();
    await lecturer.goto(`http://127.0.0.1:${full.port}/classroom-test.html`);
    await lecturer.getByTestId('classroom-start').click();
    await expect(lecturer.getByTestId('classroom-error')).toContainText('1 classes, its cap');
    await expect(lecturer.getByTestId('classroom-code')).toHaveCount(0);
    // the server goes away: the next try says it is not reachable
    await full.close();
    await lecturer.getByTestId('classroom-start').click();
    await expect(lecturer.getByTestId('classroom-error')).toContainText('not reachable');
  } finally {
    await full.close().catch(() => {});
  }
});

test('the real playground as the lecturer: students rank tasks from its policy, their rankings reach the session and train the reward model', async ({
  browser,
}) => {
  test.setTimeout(300_000);
  const lecturer = await (await browser.newContext()).newPage();
  // wasm: the class must not depend on the lecturer's GPU (and SwiftShader's WebGPU is slow); other tests cover WebGPU
  await lecturer.goto(`${base}/?backend=wasm`);
  await expect(lecturer.getByTestId('backend')).toHaveAttribute('data-backend', 'wasm', { timeout: 120_000 });
  await lecturer.getByTestId('checkpoint-upload').setInputFiles('tests/fixtures/tiny-pretrained.safetensors');
  await expect(lecturer.getByTestId('model-info')).toContainText('tiny-pretrained', { timeout: 60_000 });
  await lecturer.getByTestId('tab-reward').click();
  const counters = () =>
    lecturer.evaluate(() =>
      (window as unknown as { playground: { api: { counters(): Promise<{ rankings: number }> } } }).playground.api.counters(),
    );
  const before = (await counters()).rankings;

  await lecturer.getByTestId('classroom-mode').locator('summary').click();
  await lecturer.getByTestId('classroom-start').click();
  await expect(lecturer.getByTestId('classroom-connection')).toContainText('connected');
  const room = (await lecturer.getByTestId('classroom-code').getAttribute('data-room'))!;
  const joinHash = new URL((await lecturer.getByTestId('classroom-join-link').getAttribute('href'))!).hash;
  const lecturerKey = new URLSearchParams(joinHash.slice(1)).get('lk');
  const link = `${base}/student.html#room=${room}&ws=${encodeURIComponent(`ws://127.0.0.1:${server.port}`)}&lk=${lecturerKey}`;
  const students = [await joinStudent(browser, link, 'Ana'), await joinStudent(browser, link, 'Ben', true)];

  // each student ranks three tasks sampled from the lecturer's policy
  for (let round = 0; round < 3; round++) for (const [i, s] of students.entries()) await rank(s, i === 1);
  await expect.poll(async () => (await counters()).rankings, { timeout: 120_000 }).toBe(before + 6);
  await expect(lecturer.getByTestId('reward-rankings')).toHaveText(String(before + 6));

  // the reward model trains on them
  for (const [key, value] of [
    ['held_out_share', 0],
    ['epochs', 1],
    ['rankings_per_batch', 2],
  ] as const) {
    await lecturer.getByTestId(`setting-reward-${key}`).fill(String(value));
    await lecturer.getByTestId(`setting-reward-${key}`).press('Tab');
  }
  await expect
    .poll(() =>
      lecturer.evaluate(
        () => (window as unknown as { playground: { status: { settings: Record<string, object> } } }).playground.status.settings.reward,
      ),
    )
    .toMatchObject({ held_out_share: 0, epochs: 1, rankings_per_batch: 2 });
  await lecturer.getByTestId('reward-run').click();
  await expect(lecturer.getByTestId('reward-state')).toHaveText('done', { timeout: 180_000 });
  await expect
    .poll(async () => Number(await lecturer.getByTestId('reward-chart-loss').getAttribute('data-points')))
    .toBeGreaterThanOrEqual(1);
  for (const s of students) await s.context.close();
});
