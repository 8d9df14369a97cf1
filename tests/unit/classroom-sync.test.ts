// The classroom over the real sync server in Node: tasks reach students, rankings reach the engine once,
// reconnects and reloads do not duplicate, forged and garbage writes are refused, a server restart loses nothing.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { httpToWs, newRoomCode } from '../../src/classroom/codes';
import { FakeClassroomEngine } from '../../src/classroom/fakeEngine';
import { ClassroomHost } from '../../src/classroom/host';
import { claimRoom, keepRoom } from '../../src/classroom/lecturerRoom';
import { StudentClient, type KeyValueStore } from '../../src/classroom/student';
import { RANKING_PREFIX, studentArea, tasksMap } from '../../src/classroom/doc';
import { startClassroomServer, type ClassroomServer } from '../../scripts/classroom';

class MemoryStore implements KeyValueStore {
  private readonly values = new Map<string, string>();
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let server: ClassroomServer | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  cleanups.splice(0).forEach((f) => f());
  await server?.close();
  server = null;
});

async function setup(students: number) {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null });
  const origin = `http://127.0.0.1:${server.port}`;
  const ws = httpToWs(origin);
  const engine = new FakeClassroomEngine();
  const room = newRoomCode();
  const claim = await claimRoom(origin, room);
  if (!claim.ok) throw new Error(claim.reason);
  const host = new ClassroomHost(engine, { serverUrl: ws, room, params: { lecturer: claim.token }, WebSocketImpl: WebSocket, k: 3 });
  const stopKeeping = keepRoom(host.provider, origin, room, () => {}); // re-creates the room after a server restart
  cleanups.push(() => {
    stopKeeping();
    host.stop();
  });
  const stores = Array.from({ length: students }, () => new MemoryStore());
  const clients = stores.map((store, i) => new StudentClient({ room: host.room, ws, store, alias: `s${i}`, WebSocketImpl: WebSocket }));
  cleanups.push(() => clients.forEach((c) => c.stop()));
  return { ws, engine, host, stores, clients };
}

async function rankCurrent(client: StudentClient): Promise<string> {
  await until(() => client.currentTask() !== null, `a task for ${client.studentId}`);
  const task = client.currentTask()!;
  expect(
    client.submit(
      task.id,
      task.completions.map((_, i) => i),
    ),
  ).toBe(true);
  return task.id;
}

describe('classroom sync', () => {
  it('sends each task to up to 3 students and takes each ranking once', async () => {
    const { engine, host, clients } = await setup(4);
    const ranked = await Promise.all(clients.map(rankCurrent));
    await until(() => engine.submissions.length === 4, 'four rankings');
    const perTask = new Map<string, number>();
    for (const id of ranked) perTask.set(id, (perTask.get(id) ?? 0) + 1);
    expect(Math.max(...perTask.values())).toBeLessThanOrEqual(3);
    expect(new Set(engine.submissions.map((s) => s.id)).size).toBe(4);
    expect(engine.submissions.every((s) => s.annotator.startsWith('classroom:'))).toBe(true);
    const snap = host.snapshot();
    expect(snap.accepted).toBe(4);
    expect(snap.agreement).toBe(1); // everyone ranked 0,1,2
    expect(host.exportTrlJsonl().trim().split('\n')).toHaveLength(4 * 3);
  });

  it('a reconnect and a reload resend nothing twice; a forged ranking and garbage are refused', async () => {
    const { ws, engine, host, stores, clients } = await setup(2);
    const [alice, bob] = clients;
    const firstTask = await rankCurrent(alice);
    await until(() => engine.submissions.length === 1, 'alice accepted');
    // reconnect: the same page drops and comes back; resubmitting the same task is a repeat
    alice.provider.disconnect();
    alice.area.set(RANKING_PREFIX + firstTask, { taskId: firstTask, order: [2, 1, 0], submittedAt: Date.now() });
    alice.provider.connect();
    await until(() => host.snapshot().repeats >= 1, 'the repeat noticed');
    // reload: a new page (new Yjs client) with the same stored identity reclaims the seat
    alice.stop();
    const reloaded = new StudentClient({ room: host.room, ws, store: stores[0], WebSocketImpl: WebSocket });
    cleanups.push(() => reloaded.stop());
    expect(reloaded.studentId).toBe(alice.studentId);
    await until(() => reloaded.snapshot().seated, 'the reloaded page seated');
    await rankCurrent(reloaded);
    await until(() => engine.submissions.length === 2, 'the reloaded page ranks');
    // forged: bob writes into the reloaded alice's area, for a task she holds
    await until(() => reloaded.currentTask() !== null, 'alice has a task');
    const victimTask = reloaded.currentTask()!.id;
    studentArea(bob.doc, reloaded.studentId).set(RANKING_PREFIX + victimTask, {
      taskId: victimTask,
      order: [0, 1, 2],
      submittedAt: Date.now(),
    });
    // garbage: an oversized entry, a malformed one, a write into the lecturer's tasks
    studentArea(bob.doc, bob.studentId).set('r:nope', 'x'.repeat(10_000));
    studentArea(bob.doc, bob.studentId).set('r:task-1', { taskId: 'task-1', order: [0, 0, 0], submittedAt: 1 });
    tasksMap(bob.doc).set('task-1', {
      id: 'task-1',
      prompt: 'forged',
      completions: ['a', 'b'],
      iteration: 0,
      assignees: [],
      publishedAt: 0,
    });
    await until(() => host.snapshot().refused.forged >= 1 && host.snapshot().tamper >= 1, 'forgery refused and tampering undone');
    const snap = host.snapshot();
    expect(snap.refused.oversized).toBeGreaterThanOrEqual(1);
    expect(snap.refused.malformed + snap.refused['not-assigned']).toBeGreaterThanOrEqual(1);
    expect(engine.submissions.filter((s) => s.id === `${reloaded.studentId}:${victimTask}`)).toHaveLength(0);
    await until(() => tasksMap(bob.doc).get('task-1')?.prompt !== 'forged', 'the lecturer puts its task back');
    expect(new Set(engine.submissions.map((s) => s.id)).size).toBe(engine.submissions.length);
  });

  it('survives a server restart: rankings made while it was down arrive once', async () => {
    const { engine, host, clients } = await setup(3);
    await Promise.all(clients.map(rankCurrent));
    await until(() => engine.submissions.length === 3, 'three rankings');
    await until(() => clients.every((c) => c.currentTask() !== null), 'everyone has a next task');
    const port = server!.port;
    await server!.close();
    await until(() => clients.every((c) => !c.provider.wsconnected), 'everyone cut off');
    // while the server is down, a student ranks its next task in its local copy
    const offlineTask = await rankCurrent(clients[0]);
    server = await startClassroomServer({ port, host: '127.0.0.1', distDir: null });
    await until(() => host.provider.wsconnected && clients.every((c) => c.provider.wsconnected), 'everyone back');
    await until(
      () => engine.submissions.some((r) => r.taskId === offlineTask && r.annotator.endsWith(clients[0].studentId)),
      'the offline ranking',
    );
    await Promise.all(clients.slice(1).map(rankCurrent));
    await until(() => engine.submissions.length === 6, 'six rankings after the restart');
    expect(new Set(engine.submissions.map((s) => s.id)).size).toBe(6);
  });
});

describe('task freshness', () => {
  it('hands out seats only on tasks from the newest policy iteration', async () => {
    const { engine, host, clients } = await setup(2);
    await until(() => clients.every((c) => c.currentTask() !== null), 'tasks for both');
    expect(clients[0].currentTask()!.id).toBe(clients[1].currentTask()!.id);
    let iteration = 0;
    const nextTask = engine.nextTask.bind(engine);
    engine.nextTask = async (k) => ({ ...(await nextTask(k)), iteration });
    iteration = 1; // the policy moved on: the next student to need a task gets a fresh one, not the old task's seat
    await rankCurrent(clients[0]);
    await until(() => clients[0].currentTask() !== null, 'a new task');
    expect(clients[0].currentTask()!.iteration).toBe(1);
    expect(host.snapshot().tasksPublished).toBe(2);
  });
});
