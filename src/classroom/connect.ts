/** Opens the y-websocket connection of a class's Yjs document (browser WebSocket, or `ws` in Node). */
import { WebsocketProvider } from 'y-websocket';
import type * as Y from 'yjs';

export interface ConnectOptions {
  /** ws://host:port of the sync server (the room is appended as the path) */
  serverUrl: string;
  room: string;
  /** query parameters of the websocket url, e.g. the lecturer's token (the provider's `params`, changeable later) */
  params?: Record<string, string>;
  /** Node has no global WebSocket before v22: pass `ws`'s */
  WebSocketImpl?: unknown;
}

export function connectDoc(doc: Y.Doc, { serverUrl, room, params, WebSocketImpl }: ConnectOptions): WebsocketProvider {
  const provider = new WebsocketProvider(serverUrl, room, doc, {
    // No BroadcastChannel: every page (and test context) talks to the server, which the server can count and refuse.
    disableBc: true,
    maxBackoffTime: 2000,
    params: { ...params },
    ...(WebSocketImpl ? { WebSocketPolyfill: WebSocketImpl as typeof WebSocket } : {}),
  });
  doc.on('afterTransactionCleanup', () => followClientId(doc, provider));
  return provider;
}

/**
 * Yjs gives a doc a new client id when another client writes under its id (anyone can claim any id). y-websocket
 * looks the awareness state up by the doc's id when it disconnects, so the awareness moves to the new id too.
 */
function followClientId(doc: Y.Doc, provider: WebsocketProvider): void {
  const awareness = provider.awareness;
  if (awareness.clientID === doc.clientID) return;
  const state = awareness.getLocalState();
  awareness.setLocalState(null);
  awareness.clientID = doc.clientID;
  awareness.setLocalState(state);
}
