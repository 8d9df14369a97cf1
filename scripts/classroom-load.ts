/**
 * Load test of classroom mode: N simulated students (Node Yjs clients, the real StudentClient) join one class through
 * the real sync server, rank at human pace (one ranking per ~10 s each) and then as fast as they can. The lecturer
 * is the real ClassroomHost on a fake engine. Reports rankings/s handled, latency from a student's submit to the
 * lecturer's engine queue (median, p95), and the sync server's memory afterwards.
 *
 *   npm run classroom:load                                   # 60 students, 30 s human pace, 10 s flat out
 *   npm run classroom:load -- --students 60 --human 60 --fast 20
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { httpToWs, newRoomCode } from '../src/classroom/codes';
import { FakeClassroomEngine } from '../src/classroom/fakeEngine';
import { ClassroomHost } from '../src/classroom/host';
import { claimRoom } from '../src/classroom/lecturerRoom';
import { StudentClient, type KeyValueStore } from '../src/classroom/student';
import type { AcceptedRanking } from '../src/classroom/types';
import { startClassroomServer } from './classroom';

export interface LoadOptions {
  students: number;
  /** seconds at human pace */
  humanSeconds: number;
  /** ms between one student's rankings at human pace */
  humanIntervalMs: number;
  /** seconds flat out */
  fastSeconds: number;
  /** run the server as its own process (its memory is then its own); else in this process */
  spawnServer: boolean;
  log: (line: string) => void;
}

export interface PhaseResult {
  rankings: number;
  seconds: number;
  perSecond: number;
  latencyMedianMs: number | null;
  latencyP95Ms: number | null;
}

export interface LoadResult {
  students: number;
  human: PhaseResult;
  fast: PhaseResult;
  duplicates: number;
  refused: number;
  /** resident memory of the server process before the students joined and after the run, MiB (null when it shares this process) */
  serverRssBeforeMiB: number | null;
  serverRssMiB: number | null;
  /** lecturer main-thread ms per accepted ranking (intake slices), and the rankings/s that would fill one core */
  lecturerMsPerRanking: number;
  lecturerCapacityPerSecond: number;
  /** heap of this process after the run when the server runs in it, MiB */
  inProcessHeapMiB: number | null;
  /** encoded size of the class's document at the end (the server caps it) */
  roomBytes: number;
}

const DEFAULTS: LoadOptions = {
  students: 60,
  humanSeconds: 30,
  humanIntervalMs: 10_000,
  fastSeconds: 10,
  spawnServer: true,
  log: console.log,
};

class MemoryStore implements KeyValueStore {
  private readonly values = new Map<string, string>();
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A plausible order: best first with noise, so students agree on most pairs but not all. */
function noisyOrder(k: number): number[] {
  const score = Array.from({ length: k }, (_, i) => -i + 1.5 * (Math.random() - 0.5) * 2);
  return score.map((_, i) => i).sort((a, b) => score[b] - score[a]);
}

function quantile(sorted: number[], q: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function phaseResult(accepted: AcceptedRanking[], from: number, to: number): PhaseResult {
  const inPhase = accepted.filter((a) => a.submittedAt >= from && a.submittedAt < to);
  const latencies = inPhase.map((a) => a.acceptedAt - a.submittedAt).sort((a, b) => a - b);
  const seconds = (to - from) / 1000;
  return {
    rankings: inPhase.length,
    seconds,
    perSecond: inPhase.length / seconds,
    latencyMedianMs: quantile(latencies, 0.5),
    latencyP95Ms: quantile(latencies, 0.95),
  };
}

/** Ranks the student's current task, if it has one; true when a ranking went out. */
function rankOnce(student: StudentClient): boolean {
  const task = student.currentTask();
  return task !== null && student.submit(task.id, noisyOrder(task.completions.length));
}

async function humanPace(students: StudentClient[], seconds: number, intervalMs: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    students.map(async (s) => {
      await sleep(Math.min(Math.random() * intervalMs, end - Date.now()));
      while (Date.now() < end) {
        rankOnce(s);
        await sleep(Math.min(intervalMs * (0.8 + 0.4 * Math.random()), Math.max(0, end - Date.now())));
      }
    }),
  );
}

async function flatOut(students: StudentClient[], seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    students.map(async (s) => {
      while (Date.now() < end) if (!rankOnce(s)) await sleep(2);
    }),
  );
}

export async function spawnServerProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/classroom.ts', '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((done, fail) => {
    child.once('exit', (code) => fail(new Error(`server exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('Classroom server on port') && done());
  });
  return child;
}

export function rssMiB(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.replace(/\D+/g, '')) / 1024 : null;
  } catch {
    return null;
  }
}

export async function runLoad(partial: Partial<LoadOptions> = {}): Promise<LoadResult> {
  const o = { ...DEFAULTS, ...partial };
  process.setMaxListeners(0); // y-websocket adds a process 'exit' listener per provider in Node
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = o.spawnServer ? await spawnServerProcess(port) : null;
  const inProcess = o.spawnServer ? null : await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null });
  const origin = `http://127.0.0.1:${inProcess?.port ?? port}`;
  const ws = httpToWs(origin);
  const engine = new FakeClassroomEngine();
  const serverRssBeforeMiB = child?.pid ? rssMiB(child.pid) : null;
  const room = newRoomCode();
  const claim = await claimRoom(origin, room);
  if (!claim.ok) throw new Error(claim.reason);
  const host = new ClassroomHost(engine, { serverUrl: ws, room, params: { lecturer: claim.token }, WebSocketImpl: WebSocket, k: 4 });
  const students = Array.from(
    { length: o.students },
    (_, i) =>
      new StudentClient({
        room: host.room,
        ws,
        lecturer: host.lecturerKey,
        store: new MemoryStore(),
        alias: `student ${i + 1}`,
        WebSocketImpl: WebSocket,
      }),
  );
  try {
    await until(() => students.every((s) => s.currentTask() !== null), 'every student to hold a task');
    o.log(`${o.students} students joined; human pace for ${o.humanSeconds} s…`);
    const humanFrom = Date.now();
    await humanPace(students, o.humanSeconds, o.humanIntervalMs);
    const humanTo = Date.now();
    await host.drained();
    o.log(`flat out for ${o.fastSeconds} s…`);
    const fastFrom = Date.now();
    await flatOut(students, o.fastSeconds);
    const fastTo = Date.now();
    await sleep(500);
    await host.drained();
    const accepted = host.acceptedRankings();
    const snap = host.snapshot();
    return {
      students: o.students,
      human: phaseResult(accepted, humanFrom, humanTo),
      fast: phaseResult(accepted, fastFrom, fastTo),
      duplicates: engine.submissions.length - new Set(engine.submissions.map((s) => s.id)).size,
      refused: Object.values(snap.refused).reduce((a, b) => a + b, 0),
      serverRssBeforeMiB,
      serverRssMiB: child?.pid ? rssMiB(child.pid) : null,
      lecturerMsPerRanking: snap.intakeBusyMs / Math.max(1, snap.accepted),
      lecturerCapacityPerSecond: (1000 * Math.max(1, snap.accepted)) / Math.max(1e-9, snap.intakeBusyMs),
      inProcessHeapMiB: inProcess ? process.memoryUsage().heapUsed / 2 ** 20 : null,
      roomBytes: Y.encodeStateAsUpdate(host.doc).length,
    };
  } finally {
    students.forEach((s) => s.stop());
    host.stop();
    await inProcess?.close();
    child?.kill();
  }
}

function printPhase(name: string, p: PhaseResult): string {
  const ms = (x: number | null) => (x === null ? '–' : `${x.toFixed(0)} ms`);
  return `${name}: ${p.rankings} rankings in ${p.seconds.toFixed(1)} s = ${p.perSecond.toFixed(1)}/s, latency median ${ms(p.latencyMedianMs)}, p95 ${ms(p.latencyP95Ms)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { students: { type: 'string' }, human: { type: 'string' }, fast: { type: 'string' } } });
  const result = await runLoad({
    students: Number(values.students ?? DEFAULTS.students),
    humanSeconds: Number(values.human ?? DEFAULTS.humanSeconds),
    fastSeconds: Number(values.fast ?? DEFAULTS.fastSeconds),
  });
  console.log(printPhase('human pace', result.human));
  console.log(printPhase('flat out  ', result.fast));
  console.log(
    `lecturer intake: ${result.lecturerMsPerRanking.toFixed(2)} ms main thread per ranking (one core would take ${result.lecturerCapacityPerSecond.toFixed(0)}/s)`,
  );
  console.log(
    `duplicates ${result.duplicates}, refused ${result.refused}, document ${(result.roomBytes / 1024).toFixed(0)} KiB, server RSS ${result.serverRssBeforeMiB?.toFixed(1) ?? '?'} MiB before, ${result.serverRssMiB?.toFixed(1) ?? '?'} MiB after`,
  );
  console.log(JSON.stringify(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
