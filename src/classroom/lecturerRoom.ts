/**
 * The lecturer's side of creating a class on the sync server (scripts/classroom.ts): read the lecturer token from
 * /classroom-info (the server hands it only to pages on its own machine), create the room with POST /rooms/<code>,
 * and keep it: whenever the connection drops, claim it again (the server may have restarted with a new token, or
 * dropped the room while nobody was connected). Every refusal comes back as a sentence the lecturer's page shows.
 */
import type { WebsocketProvider } from 'y-websocket';

export type RoomClaim = { ok: true; token: string; lan: string[] } | { ok: false; reason: string };

/** At most one claim per this many ms while the connection keeps failing (y-websocket retries every 2 s at most). */
const RECLAIM_MS = 1500;

const unreachable = (origin: string) => `the sync server at ${origin} is not reachable: is npm run classroom running?`;

async function readInfo(origin: string, fetchImpl: typeof fetch): Promise<RoomClaim> {
  let info: { lecturerToken?: unknown; lan?: unknown; port?: unknown };
  try {
    const res = await fetchImpl(`${origin}/classroom-info`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`http ${res.status}`);
    info = (await res.json()) as typeof info;
  } catch (e) {
    if (e instanceof TypeError) return { ok: false, reason: unreachable(origin) }; // fetch's network failure
    return { ok: false, reason: `${origin} is not the classroom server: open the address npm run classroom prints` };
  }
  if (typeof info.lecturerToken !== 'string')
    return {
      ok: false,
      reason: `the sync server gives its lecturer token only to pages on its own machine: open http://localhost:${String(info.port)}/ there`,
    };
  const lan = Array.isArray(info.lan) ? info.lan.filter((u): u is string => typeof u === 'string') : [];
  return { ok: true, token: info.lecturerToken, lan };
}

/** Creates (or finds) the room on the server whose pages are at `origin`; the token then opens its websocket. */
export async function claimRoom(origin: string, room: string, fetchImpl: typeof fetch = fetch): Promise<RoomClaim> {
  const info = await readInfo(origin, fetchImpl);
  if (!info.ok) return info;
  let res: Response;
  try {
    res = await fetchImpl(`${origin}/rooms/${room}`, { method: 'POST', headers: { Authorization: `Bearer ${info.token}` } });
  } catch {
    return { ok: false, reason: unreachable(origin) };
  }
  if (res.ok) return info;
  const body = (await res.json().catch(() => ({}))) as { error?: unknown };
  return { ok: false, reason: `the sync server refused the class: ${typeof body.error === 'string' ? body.error : `http ${res.status}`}` };
}

/** Claims the room again after every dropped connection; `onProblem` hears why it cannot be had, and null once it can. */
export function keepRoom(
  provider: WebsocketProvider,
  origin: string,
  room: string,
  onProblem: (reason: string | null) => void,
  fetchImpl: typeof fetch = fetch,
): () => void {
  let claiming = false;
  let lastClaim = 0;
  /** set when the server closed for good (y-websocket then stops retrying): a later claim does not hide it */
  let closedFor: string | null = null;
  const reclaim = async () => {
    if (claiming || Date.now() - lastClaim < RECLAIM_MS) return;
    claiming = true;
    lastClaim = Date.now();
    try {
      const claim = await claimRoom(origin, room, fetchImpl);
      if (claim.ok) provider.params = { ...provider.params, lecturer: claim.token };
      onProblem(claim.ok ? closedFor : claim.reason);
    } finally {
      claiming = false;
    }
  };
  const onClose = () => void reclaim();
  const onClosed = ({ code, reason }: { code: number; reason: string }) => {
    closedFor = `the sync server closed the class's connection: ${reason || `code ${code}`}`;
    onProblem(closedFor);
  };
  const onStatus = ({ status }: { status: string }) => {
    if (status !== 'connected') return;
    closedFor = null;
    onProblem(null);
  };
  provider.on('connection-close', onClose);
  provider.on('closed', onClosed);
  provider.on('status', onStatus);
  return () => {
    provider.off('connection-close', onClose);
    provider.off('closed', onClosed);
    provider.off('status', onStatus);
  };
}
