// The classroom over the real sync server in Node: tasks reach students, rankings reach the engine once,
// reconnects and reloads do not duplicate, forged and garbage writes are refused, a client claiming a student's
// Yjs client id or writing into its area changes nothing for that student, a server restart loses nothing.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { httpToWs, newRoomCode } from '../../src/classroom/codes';
import { FakeClassroomEngine } from '../../src/classroom/fakeEngine';
import { ClassroomHost } from '../../src/classroom/host';
import { claimRoom, keepRoom } from '../../src/classroom/lecturerRoom';
import { StudentClient, type KeyValueStore, type StudentSnapshot } from '../../src/classroom/student';
import { HELLO_KEY, RANKING_PREFIX, seatsMap, studentArea, tasksMap } from '../../src/classroom/doc';
import { helloParts, macOf, newKeyPair, publicKeyOf, rankingParts, sharedKey, studentIdOf } from '../../src/classroom/identity';
import type { HelloEntry, RankingEntry } from '../../src/classroom/types';
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

/** A ranking entry with the HMAC of the student whose identity `store` holds (what its own page could write). */
function signedAs(store: MemoryStore, host: ClassroomHost, unsigned: Omit<RankingEntry, 'mac'>): RankingEntry {
  const { secretKey } = JSON.parse(store.getItem(`rlhf-classroom:${host.room}`)!) as { secretKey: string };
  const key = sharedKey(secretKey, host.lecturerKey)!;
  return { ...unsigned, mac: macOf(key, rankingParts(host.room, studentIdOf(publicKeyOf(secretKey)), unsigned)) };
}

/** A bare Yjs client of the room, synced: what anyone with the room code can run. */
async function rogueClient(ws: string, room: string): Promise<{ doc: Y.Doc; stop: () => void }> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(ws, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  await new Promise<void>((done) => provider.once('sync', () => done()));
  const stop = () => {
    doc.clientID = provider.awareness.clientID; // the rogue may have taken another's id: y-websocket's teardown looks up its own
    provider.destroy();
  };
  cleanups.push(stop);
  return { doc, stop };
}

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
  const clients = stores.map(
    (store, i) => new StudentClient({ room: host.room, ws, lecturer: host.lecturerKey, store, alias: `s${i}`, WebSocketImpl: WebSocket }),
  );
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
    alice.area.set(RANKING_PREFIX + firstTask, signedAs(stores[0], host, { taskId: firstTask, order: [2, 1, 0], submittedAt: Date.now() }));
    alice.provider.connect();
    await until(() => host.snapshot().repeats >= 1, 'the repeat noticed');
    // reload: a new page (new Yjs client) with the same stored identity reclaims the seat
    alice.stop();
    const reloaded = new StudentClient({ room: host.room, ws, lecturer: host.lecturerKey, store: stores[0], WebSocketImpl: WebSocket });
    cleanups.push(() => reloaded.stop());
    expect(reloaded.studentId).toBe(alice.studentId);
    await until(() => reloaded.snapshot().seated, 'the reloaded page seated');
    await rankCurrent(reloaded);
    await until(() => engine.submissions.length === 2, 'the reloaded page ranks');
    // forged: bob writes into the reloaded alice's area, for a task she holds, with his own HMAC
    await until(() => reloaded.currentTask() !== null, 'alice has a task');
    const victimTask = reloaded.currentTask()!.id;
    studentArea(bob.doc, reloaded.studentId).set(
      RANKING_PREFIX + victimTask,
      signedAs(stores[1], host, { taskId: victimTask, order: [0, 1, 2], submittedAt: Date.now() }),
    );
    // garbage: an oversized entry, a malformed one of bob's own, a write into the lecturer's tasks
    studentArea(bob.doc, bob.studentId).set('r:nope', 'x'.repeat(10_000));
    studentArea(bob.doc, bob.studentId).set('r:task-1', signedAs(stores[1], host, { taskId: 'task-1', order: [0, 0, 0], submittedAt: 1 }));
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
    // the forgery is not held against alice; bob's own malformed entry is his
    const rows = new Map(snap.students.map((r) => [r.studentId, r]));
    expect(rows.get(reloaded.studentId)!.refused).toBe(0);
    expect(rows.get(bob.studentId)!.refused).toBeGreaterThanOrEqual(1);
  });

  it("a client claiming a student's Yjs client id, or writing into its area, changes nothing for that student (issue 19, seen 2)", async () => {
    const { ws, engine, host, clients } = await setup(2);
    const [victim, other] = clients;
    await rankCurrent(other);
    await until(() => engine.submissions.length === 1 && victim.currentTask() !== null && victim.snapshot().seated, 'a class under way');
    const victimTask = victim.currentTask()!.id;
    const shown: StudentSnapshot[] = [];
    const stopWatching = victim.onChange((snap) => shown.push(snap));

    // the rogue syncs, then takes the victim's Yjs client id: its writes reach the lecturer as the victim's client
    const rogue = await rogueClient(ws, host.room);
    const victimClient = victim.doc.clientID;
    rogue.doc.clientID = victimClient;
    const eve = newKeyPair();
    const eveKey = sharedKey(eve.secretKey, host.lecturerKey)!;
    const area = studentArea(rogue.doc, victim.studentId);
    const forgedRanking = { taskId: victimTask, order: [2, 1, 0], submittedAt: Date.now() };
    const forgedHello = { alias: 'Eve', key: eve.publicKey, at: Date.now() + 1e6 };
    rogue.doc.transact(() => {
      area.set(RANKING_PREFIX + victimTask, {
        ...forgedRanking,
        mac: macOf(eveKey, rankingParts(host.room, victim.studentId, forgedRanking)),
      });
      area.set(HELLO_KEY, { ...forgedHello, mac: macOf(eveKey, helloParts(host.room, victim.studentId, forgedHello)) });
      // and a seat for the victim that would end its session
      seatsMap(rogue.doc).set(victim.studentId, { ...seatsMap(rogue.doc).get(victim.studentId)!, open: [], removed: true, v: 1e9 });
    });
    const hostArea = studentArea(host.doc, victim.studentId);
    await until(
      () => hostArea._map.get(RANKING_PREFIX + victimTask)?.id.client === victimClient && host.snapshot().refused.forged >= 2,
      'the rogue writes, under the victim client id, refused',
    );
    await until(() => host.snapshot().tamper >= 1, 'the forged seat put back');
    await until(() => (hostArea.get(HELLO_KEY) as HelloEntry).alias === 's0', "the victim's hello put back by its page");
    expect(engine.submissions).toHaveLength(1);
    const row = host.snapshot().students.find((r) => r.studentId === victim.studentId)!;
    expect(row).toMatchObject({ alias: 's0', accepted: 0, refused: 0, removed: false });
    // the victim's page still shows its open task, and was never shown anything else
    expect(victim.currentTask()?.id).toBe(victimTask);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((s) => s.task?.id === victimTask && !s.removed && s.seated && s.submitted === 0)).toBe(true);
    stopWatching();

    // the victim's next honest ranking is taken, in its order, and a new task follows
    expect(victim.submit(victimTask, [1, 0, 2])).toBe(true);
    await until(() => engine.submissions.length === 2, "the victim's ranking");
    expect(engine.submissions[1]).toMatchObject({ id: `${victim.studentId}:${victimTask}`, order: [1, 0, 2] });
    await until(() => victim.currentTask() !== null && victim.currentTask()!.id !== victimTask, 'a new task for the victim');

    // overwriting the accepted answer changes nothing: the lecturer refuses it, the victim's page puts its own back, the
    // lecturer takes nothing. The victim is offline meanwhile: the lecturer judges an entry as it stands when its turn
    // comes, so an online victim's repair can reach it first, and then there is no forged entry left to refuse.
    victim.provider.disconnect();
    const forgedAgain = { ...forgedRanking, order: [0, 2, 1] };
    area.set(RANKING_PREFIX + victimTask, { ...forgedAgain, mac: '0'.repeat(64) });
    await until(() => host.snapshot().refused.forged >= 3, 'the overwrite refused');
    victim.provider.connect();
    await until(() => (area.get(RANKING_PREFIX + victimTask) as RankingEntry).order.join() === '1,0,2', 'the honest answer back');
    expect(engine.submissions).toHaveLength(2);
    expect(host.snapshot().accepted).toBe(2);
    expect(victim.snapshot()).toMatchObject({ submitted: 1, accepted: 1 });
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
