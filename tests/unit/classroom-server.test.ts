// The sync server's gate: no room without a room code, no listing, a flooding connection is cut off, files are
// served from dist/ only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { newRoomCode } from '../../src/classroom/codes';
import { startClassroomServer, type ClassroomServer } from '../../scripts/classroom';

let server: ClassroomServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

function open(url: string): Promise<WebSocket | string> {
  return new Promise((done) => {
    const ws = new WebSocket(url);
    ws.once('open', () => done(ws));
    ws.once('unexpected-response', (_req, res) => done(`refused ${res.statusCode}`));
    ws.once('error', (e) => done(`error ${e.message}`));
  });
}

it('refuses websocket paths that are not a room code and lists no rooms', async () => {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null });
  const base = `ws://127.0.0.1:${server.port}`;
  for (const path of ['/', '/lobby', '/abc', `/${newRoomCode()}x`, `/${newRoomCode().toUpperCase()}`])
    expect(await open(base + path)).toBe('refused 404');
  const ok = await open(`${base}/${newRoomCode()}`);
  expect(ok).toBeInstanceOf(WebSocket);
  (ok as WebSocket).close();
  const index = await fetch(`http://127.0.0.1:${server.port}/`);
  expect(index.status).toBe(404); // no files when distDir is null, and never a list of rooms
});

it('cuts off a connection that floods the room', async () => {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null, messagesPerSecond: 50, messageBurst: 100 });
  const ws = (await open(`ws://127.0.0.1:${server.port}/${newRoomCode()}`)) as WebSocket;
  const closed = new Promise<void>((done) => ws.once('close', () => done()));
  for (let i = 0; i < 500; i++) ws.send(new Uint8Array([1, 1, 0])); // awareness updates about no clients
  await closed;
  expect(ws.readyState).toBe(WebSocket.CLOSED);
});

it('serves the built app from dist/ and nothing outside it', async () => {
  const dist = mkdtempSync(join(tmpdir(), 'classroom-dist-'));
  writeFileSync(join(dist, 'student.html'), '<p>student</p>');
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: dist });
  const base = `http://127.0.0.1:${server.port}`;
  expect(await (await fetch(`${base}/student.html`)).text()).toBe('<p>student</p>');
  expect((await fetch(`${base}/../package.json`)).status).toBe(404);
  expect((await fetch(`${base}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
  const info = await (await fetch(`${base}/classroom-info`)).json();
  expect(info.port).toBe(server.port);
});
