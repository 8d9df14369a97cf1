/**
 * A student's claim on its answer area across page reloads, with a hash chain (no secure context needed).
 *
 * On joining, the student keeps a random secret and publishes only its sha-256 ("commit"). The lecturer binds the
 * area to the Yjs client that wrote that first hello. A reloaded page is a new Yjs client: it reveals the secret and
 * commits to a fresh one; the lecturer moves the area to the new client when the revealed secret hashes to the commit.
 * A revealed secret is spent, so copying it from the shared document is useless.
 */
import { digest } from 'lib0/hash/sha256';
import { newSecret } from './codes';

export function sha256Hex(text: string): string {
  const bytes = digest(new TextEncoder().encode(text));
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

export const COMMIT_PATTERN = /^[0-9a-f]{64}$/;

/** What a student keeps in its own storage for one room. */
export interface StoredIdentity {
  studentId: string;
  secret: string;
  alias: string;
}

/** The next link of the chain: a fresh secret to keep, its commit to publish, the old secret to reveal. */
export function nextLink(previousSecret: string | undefined): { secret: string; commit: string; reveal?: string } {
  const secret = newSecret();
  const link: { secret: string; commit: string; reveal?: string } = { secret, commit: sha256Hex(secret) };
  if (previousSecret !== undefined) link.reveal = previousSecret;
  return link;
}

/** True when `reveal` is the secret behind `commit`. */
export function opensCommit(reveal: unknown, commit: string): boolean {
  return typeof reveal === 'string' && reveal.length <= 64 && sha256Hex(reveal) === commit;
}
