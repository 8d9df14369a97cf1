// The sync server's memory under clients that never read (issue 19): 300 sync requests for a ~1 MB room from one
// such client, then 250 such clients at once. The server runs as its own process so its resident memory is its
// own; it must cut them off, stay within a bound, come back near where it was, and keep the room syncing.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { rssMiB, spawnServerProcess } from '../../scripts/classroom-load';
import { newRoomCode } from '../../src/classroom/codes';
import { connectDoc } from '../../src/classroom/connect';
import { claimRoom } from '../../src/classroom/lecturerRoom';
import { frame, rawUpgrade, type RawSocket } from './raw-websocket';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** growth over the filled room's baseline that the server may reach while abused, and keep after (MiB) */
const PEAK_BOUND_MIB = 80;
const AFTER_BOUND_MIB = 30;

let child: ChildProcess;
let port = 0;
let room = '';
const docs: Y.Doc[] = [];
const stops: Array<() => void> = [];

async function honest(): Promise<Y.Doc> {
  const doc = new Y.Doc();
  const provider = connectDoc(doc, { serverUrl: `ws://127.0.0.1:${port}`, room, WebSocketImpl: WebSocket });
  stops.push(() => provider.destroy());
  await new Promise<void>((done) => provider.once('sync', () => done()));
  docs.push(doc);
  return doc;
}

const serverRss = () => rssMiB(child.pid!)!;

/** Samples the server's memory every 20 ms until stopped: stop() gives the highest figure. */
function samplePeak(): { stop(): number } {
  let peak = serverRss();
  const timer = setInterval(() => (peak = Math.max(peak, serverRss())), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, serverRss());
    },
  };
}

function syncStep1Frame(): Buffer {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  syncProtocol.writeSyncStep1(e, new Y.Doc()); // "I have nothing": the answer is the whole room
  return frame(encoding.toUint8Array(e));
}

async function stillSyncing(key: string): Promise<void> {
  const [a, b] = docs;
  a.getMap('probe').set(key, key);
  const end = Date.now() + 5000;
  while (b.getMap('probe').get(key) !== key) {
    if (Date.now() > end) throw new Error(`"${key}" did not reach the other client`);
    await sleep(10);
  }
}

beforeAll(async () => {
  port = 20_000 + Math.floor(Math.random() * 20_000);
  child = await spawnServerProcess(port);
  room = newRoomCode();
  const claim = await claimRoom(`http://127.0.0.1:${port}`, room);
  if (!claim.ok) throw new Error(claim.reason);
  const filler = await honest();
  const notes = filler.getMap('notes');
  for (let i = 0; i < 96; i++) notes.set(`n${i}`, randomBytes(8192).toString('base64')); // ~1 MB that does not compress
  await honest();
  await stillSyncing('filled');
  await sleep(500);
}, 60_000);

afterAll(() => {
  stops.forEach((stop) => stop());
  child?.kill();
});

it.runIf(existsSync('/proc/self/status'))(
  'one client that never reads, 300 sync requests for a ~1 MB room: cut off, memory bounded and given back',
  async () => {
    const baseline = serverRss();
    const raw = (await rawUpgrade(port, `/${room}`)) as RawSocket;
    raw.socket.pause(); // never reads: every answer stays with the server or the kernel
    const sampler = samplePeak();
    raw.socket.write(Buffer.concat(Array.from({ length: 300 }, syncStep1Frame)));
    await sleep(2500);
    const peak = sampler.stop();
    // now it reads: what reaches it is what the server had sent before cutting it off, then the end
    let received = 0;
    raw.socket.on('data', (chunk: Buffer) => (received += chunk.length));
    raw.socket.resume();
    await Promise.race([raw.closed, sleep(10_000)]);
    expect(raw.socket.destroyed, 'the server cut the non-reading client off').toBe(true);
    const roomBytes = Y.encodeStateAsUpdate(docs[0]).length;
    expect(received / roomBytes, 'copies of the room it was sent').toBeLessThan(20);
    await sleep(1500);
    const after = serverRss();
    console.log(
      `one non-reading client, 300 requests: RSS ${baseline.toFixed(1)} -> peak ${peak.toFixed(1)} -> ${after.toFixed(1)} MiB; ` +
        `it got ${(received / roomBytes).toFixed(1)} copies of the ${(roomBytes / 1024).toFixed(0)} KiB room before the cut`,
    );
    expect(peak - baseline).toBeLessThan(PEAK_BOUND_MIB);
    expect(after - baseline).toBeLessThan(AFTER_BOUND_MIB);
    await stillSyncing('after one non-reader');
  },
  30_000,
);

it.runIf(existsSync('/proc/self/status'))(
  '250 clients that never read, one sync request each: memory bounded and given back after they leave',
  async () => {
    const baseline = serverRss();
    const raws: RawSocket[] = [];
    const sampler = samplePeak();
    for (let i = 0; i < 250; i++) {
      const raw = (await rawUpgrade(port, `/${room}`)) as RawSocket;
      raw.socket.pause();
      raw.socket.write(syncStep1Frame());
      raws.push(raw);
    }
    await sleep(2000);
    const peak = sampler.stop();
    raws.forEach((r) => r.socket.destroy());
    await sleep(2000);
    const after = serverRss();
    console.log(
      `250 non-reading clients: RSS ${baseline.toFixed(1)} -> peak ${peak.toFixed(1)} -> ${after.toFixed(1)} MiB after they left`,
    );
    expect(peak - baseline).toBeLessThan(PEAK_BOUND_MIB);
    expect(after - baseline).toBeLessThan(AFTER_BOUND_MIB);
    await stillSyncing('after 250 non-readers');
  },
  60_000,
);
