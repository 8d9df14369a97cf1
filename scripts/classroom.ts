/**
 * `npm run classroom`: the classroom's sync server. One process on the lecturer's machine that
 *   - serves the built app (dist/: the lecturer's page and student.html) over plain http on the local network, every
 *     response cross-origin isolated,
 *   - runs the y-websocket protocol for the rooms the lecturer's page created (scripts/classroom-rooms.ts, with the
 *     lecturer token it hands only to pages on this machine), refusing every other path, listing nothing, and
 *     capping rooms, clients, message size, message rate, document size and unsent data,
 *   - survives any bytes: a socket that errs or sends what does not decode is closed, alone.
 *
 *   npm run build && npm run classroom                 # port 8080 on all interfaces
 *   PORT=9000 npm run classroom -- --dist dist
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { isRoomCode } from '../src/classroom/codes';
import { RoomRegistry, refusal, type RegistryLimits } from './classroom-rooms';
import { ISOLATION_HEADERS } from './isolation';

export interface ClassroomServerOptions extends Partial<RegistryLimits> {
  port?: number;
  host?: string;
  /** the built app; null serves no files (sync only) */
  distDir?: string | null;
  /** messages per second one connection may send on average, and in a burst, before it is cut off */
  messagesPerSecond?: number;
  messageBurst?: number;
}

export interface ClassroomServer {
  port: number;
  server: Server;
  /** what a lecturer's page presents to create a room (GET /classroom-info gives it to pages on this machine) */
  lecturerToken: string;
  /** the largest websocket message taken: one whole room and its framing */
  maxPayload: number;
  limits: RegistryLimits;
  /** rooms the lecturer created, alive now */
  roomCount(): number;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: RegistryLimits = {
  maxRooms: 50,
  maxClientsPerRoom: 300,
  idleRoomMs: 45_000,
  maxRoomBytes: 8 * 1024 * 1024,
  sendSlackBytes: 1024 * 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxAwarenessIdsPerClient: 4,
  pingMs: 30_000,
};

/** A sync message is the room's content plus a few bytes of framing. */
const MESSAGE_FRAMING_BYTES = 64 * 1024;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/** http://<address>:port for every non-internal IPv4 address of this machine. */
export function lanUrls(port: number): string[] {
  const urls: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) urls.push(`http://${a.address}:${port}`);
  }
  return urls;
}

function reply(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store', ...headers }).end(body);
}

function replyJson(res: ServerResponse, status: number, value: unknown): void {
  reply(res, status, 'application/json', JSON.stringify(value));
}

function sendFile(res: ServerResponse, distDir: string, urlPath: string): void {
  const root = resolve(distDir);
  const wanted = normalize(join(root, decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath)));
  if (!wanted.startsWith(root + sep) || !existsSync(wanted) || !statSync(wanted).isFile())
    return reply(res, 404, 'text/plain', 'not found');
  res.writeHead(200, {
    ...ISOLATION_HEADERS,
    'Content-Type': MIME[extname(wanted)] ?? 'application/octet-stream',
    'Cache-Control': 'no-cache',
  });
  createReadStream(wanted)
    .on('error', () => res.destroy())
    .pipe(res);
}

const unmapped = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '');

/**
 * A request from this machine (loopback, or from one of its own addresses) that names the server by `localhost` or
 * an address: a page elsewhere on the network, or a web site rebinding its own name to this machine, is not.
 */
export function fromThisMachine(req: IncomingMessage): boolean {
  const remote = unmapped(req.socket.remoteAddress);
  const sameMachine = remote === unmapped(req.socket.localAddress) || remote.startsWith('127.') || remote === '::1';
  const hostname = hostnameOf(req.headers.host);
  return sameMachine && hostname !== null && (hostname === 'localhost' || isIP(hostname) !== 0);
}

function hostnameOf(host: string | undefined): string | null {
  try {
    return new URL(`http://${host ?? ''}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null;
  }
}

function bearer(req: IncomingMessage): string | null {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  return match ? match[1] : null;
}

/** POST /rooms/<code> with the lecturer token: creates the room (or finds it), else says why not. */
function handleCreateRoom(req: IncomingMessage, res: ServerResponse, rooms: RoomRegistry, code: string): void {
  if (!isRoomCode(code)) return replyJson(res, 400, { error: 'not a room code (16 characters a-z, 2-7)' });
  if (!rooms.isLecturerToken(bearer(req))) return replyJson(res, 403, { error: refusal('token', rooms.limits) });
  const created = rooms.create(code);
  if (!created.ok) return replyJson(res, created.status, { error: created.reason });
  replyJson(res, 201, { room: code });
}

function handleHttp(req: IncomingMessage, res: ServerResponse, distDir: string | null, rooms: RoomRegistry, port: () => number): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/classroom-info') {
    const token = fromThisMachine(req) ? { lecturerToken: rooms.lecturerToken } : {};
    return replyJson(res, 200, { port: port(), lan: lanUrls(port()), ...token });
  }
  if (path.startsWith('/rooms/') && req.method === 'POST') return handleCreateRoom(req, res, rooms, path.slice('/rooms/'.length));
  if (distDir === null || req.method !== 'GET') return reply(res, 404, 'text/plain', 'not found');
  try {
    sendFile(res, distDir, path);
  } catch {
    reply(res, 400, 'text/plain', 'bad path');
  }
}

/** Cuts off a connection that sends faster than a token bucket allows (a student sends a few messages a minute). */
function limitRate(ws: WebSocket, perSecond: number, burst: number): void {
  let tokens = burst;
  let last = Date.now();
  ws.on('message', () => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond) - 1;
    last = now;
    if (tokens < 0) ws.terminate();
  });
}

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = Buffer.from(reason);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${reason}`,
  );
}

export function startClassroomServer(options: ClassroomServerOptions = {}): Promise<ClassroomServer> {
  const { host = '0.0.0.0', distDir = 'dist', messagesPerSecond = 200, messageBurst = 2000 } = options;
  const limits: RegistryLimits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof RegistryLimits>) limits[key] = options[key] ?? DEFAULT_LIMITS[key];
  const maxPayload = limits.maxRoomBytes + MESSAGE_FRAMING_BYTES;
  const rooms = new RoomRegistry(limits);
  const wss = new WebSocketServer({ noServer: true, maxPayload });
  const server = createServer((req, res) => handleHttp(req, res, distDir, rooms, () => (server.address() as { port: number }).port));

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    const code = url.pathname.slice(1);
    if (!isRoomCode(code)) return refuseUpgrade(socket, 404, refusal('unknown', limits));
    const admission = rooms.admit(code, url.searchParams.get('lecturer'));
    if (!admission.ok) return refuseUpgrade(socket, admission.status, admission.reason);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', () => ws.terminate());
      limitRate(ws, messagesPerSecond, messageBurst);
      rooms.join(admission.room, ws);
    });
  });

  const close = async () => {
    for (const client of wss.clients) client.terminate();
    rooms.close();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  };

  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, host, () => {
      const port = (server.address() as { port: number }).port;
      done({ port, server, lecturerToken: rooms.lecturerToken, maxPayload, limits, roomCount: () => rooms.count, close });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' }, dist: { type: 'string', default: 'dist' } },
  });
  const port = Number(values.port ?? process.env.PORT ?? 8080);
  const distDir = values.dist;
  if (!existsSync(join(distDir, 'student.html')))
    console.warn(`No ${distDir}/student.html: run \`npm run build\` first, or students get 404.`);
  const { port: bound } = await startClassroomServer({ port, host: values.host ?? process.env.HOST ?? '0.0.0.0', distDir });
  console.log(`Classroom server on port ${bound}: serving ${distDir}/ and the Yjs sync (y-websocket) for the classes started here.`);
  console.log(`  this machine:   http://localhost:${bound}/   (the lecturer's page: only pages on this machine can start a class)`);
  for (const url of lanUrls(bound))
    console.log(`  local network:  ${url}/   (open this on the lecturer's machine; students join by its QR code)`);
  console.log('  If phones cannot connect: allow incoming TCP on this port in the firewall, and use a network without client isolation.');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
