// A websocket client made of a bare net.Socket, for the hostile-client tests: it does a proper upgrade handshake
// and then writes whatever bytes a test hands it (well-formed masked frames, or frames no honest client sends).
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  socket: Socket;
  /** resolves when the server has closed or reset the connection */
  closed: Promise<void>;
}

/** Opens ws://127.0.0.1:port/path by hand; resolves after the server's 101, or with its status line if it refuses. */
export function rawUpgrade(port: number, path: string): Promise<RawSocket | string> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // a reset from the server is what some tests expect
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const status = head.slice(0, head.indexOf('\r\n'));
      if (status.startsWith('HTTP/1.1 101')) done({ socket, closed });
      else {
        socket.destroy();
        done(status);
      }
    };
    socket.on('data', onData);
    socket.once('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.once('close', () => fail(new Error('closed before the handshake ended')));
  });
}

/** One client frame: FIN, the opcode (2 = binary), masked payload; `announce` overrides the length in the header. */
export function frame(
  payload: Uint8Array,
  { opcode = 2, rsv = 0, announce }: { opcode?: number; rsv?: number; announce?: number } = {},
): Buffer {
  const length = announce ?? payload.length;
  const header: number[] = [0x80 | (rsv << 4) | opcode];
  if (length < 126) header.push(0x80 | length);
  else if (length < 65536) header.push(0x80 | 126, length >> 8, length & 255);
  else {
    header.push(0x80 | 127);
    for (let shift = 56; shift >= 0; shift -= 8) header.push(Math.floor(length / 2 ** shift) & 255);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload).map((b, i) => b ^ mask[i & 3]);
  return Buffer.concat([Buffer.from(header), mask, body]);
}

/** The code of the close frame the server sends (its frames are unmasked), or null if it closes without one. */
export function closeCode(raw: RawSocket): Promise<number | null> {
  return new Promise((done) => {
    let buffered = Buffer.alloc(0);
    raw.socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (buffered.length < 2) return;
        let length = buffered[1] & 127;
        let offset = 2;
        if (length === 126) [length, offset] = [buffered.length >= 4 ? buffered.readUInt16BE(2) : Infinity, 4];
        else if (length === 127) [length, offset] = [buffered.length >= 10 ? Number(buffered.readBigUInt64BE(2)) : Infinity, 10];
        if (buffered.length < offset + length) return;
        if ((buffered[0] & 15) === 8) return done(length >= 2 ? buffered.readUInt16BE(offset) : null);
        buffered = buffered.subarray(offset + length);
      }
    });
    void raw.closed.then(() => done(null));
  });
}
