/**
 * `npm run classroom`: the classroom's sync server. One process on the lecturer's machine that
 *   - serves the built app (dist/: the lecturer's page and student.html) over plain http on the local network,
 *   - runs the y-websocket protocol (@y/websocket-server's setupWSConnection) for rooms whose name is a room code,
 *     refusing every other path, listing nothing, capping rooms, clients, message size and message rate, and
 *     keeping each idle room only for a while.
 *
 *   npm run build && npm run classroom                 # port 8080 on all interfaces
 *   PORT=9000 npm run classroom -- --dist dist
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { docs, setupWSConnection } from '@y/websocket-server/utils';
import { WebSocketServer, type WebSocket } from 'ws';
import { isRoomCode } from '../src/classroom/codes';

export interface ClassroomServerOptions {
  port?: number;
  host?: string;
  /** the built app; null serves no files (sync only) */
  distDir?: string | null;
  maxRooms?: number;
  maxClientsPerRoom?: number;
  /** a room nobody is connected to is dropped after this long */
  idleRoomMs?: number;
  /** largest websocket message accepted (a reconnecting client sends the whole room once) */
  maxPayload?: number;
  /** messages per second one connection may send on average, and in a burst, before it is cut off */
  messagesPerSecond?: number;
  messageBurst?: number;
}

export interface ClassroomServer {
  port: number;
  server: Server;
  /** rooms in memory now */
  roomCount(): number;
  close(): Promise<void>;
}

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

function sendFile(res: ServerResponse, distDir: string, urlPath: string): void {
  const root = resolve(distDir);
  const wanted = normalize(join(root, decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath)));
  if (!wanted.startsWith(root + sep) || !existsSync(wanted) || !statSync(wanted).isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, { 'Content-Type': MIME[extname(wanted)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
  createReadStream(wanted).pipe(res);
}

function handleHttp(req: IncomingMessage, res: ServerResponse, distDir: string | null, port: () => number): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/classroom-info') {
    res
      .writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      .end(JSON.stringify({ port: port(), lan: lanUrls(port()) }));
    return;
  }
  if (distDir === null || req.method !== 'GET') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  try {
    sendFile(res, distDir, path);
  } catch {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('bad path');
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

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function startClassroomServer(options: ClassroomServerOptions = {}): Promise<ClassroomServer> {
  const {
    host = '0.0.0.0',
    distDir = 'dist',
    maxRooms = 50,
    maxClientsPerRoom = 300,
    idleRoomMs = 30 * 60_000,
    maxPayload = 4 * 1024 * 1024,
  } = options;
  const { messagesPerSecond = 200, messageBurst = 2000 } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload });
  const idleTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const server = createServer((req, res) => handleHttp(req, res, distDir, () => (server.address() as { port: number }).port));

  const dropRoomLater = (room: string) => {
    clearTimeout(idleTimers.get(room));
    idleTimers.set(
      room,
      setTimeout(() => {
        const doc = docs.get(room);
        if (doc && doc.conns.size === 0) {
          docs.delete(room);
          doc.destroy();
        }
        idleTimers.delete(room);
      }, idleRoomMs),
    );
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const room = new URL(req.url ?? '/', 'http://localhost').pathname.slice(1);
    if (!isRoomCode(room)) return refuseUpgrade(socket, '404 Not Found');
    const existing = docs.get(room);
    if (!existing && docs.size >= maxRooms) return refuseUpgrade(socket, '503 Service Unavailable');
    if (existing && existing.conns.size >= maxClientsPerRoom) return refuseUpgrade(socket, '503 Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      clearTimeout(idleTimers.get(room));
      limitRate(ws, messagesPerSecond, messageBurst);
      setupWSConnection(ws, req, { docName: room });
      ws.on('close', () => dropRoomLater(room));
    });
  });

  const close = async () => {
    for (const client of wss.clients) client.terminate();
    for (const timer of idleTimers.values()) clearTimeout(timer);
    for (const [name, doc] of docs) {
      docs.delete(name);
      doc.destroy();
    }
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  };

  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, host, () => {
      const port = (server.address() as { port: number }).port;
      done({ port, server, roomCount: () => docs.size, close });
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
  console.log(`Classroom server on port ${bound}: serving ${distDir}/ and the Yjs sync (y-websocket) for room codes.`);
  console.log(`  this machine:   http://localhost:${bound}/`);
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
