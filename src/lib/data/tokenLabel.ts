/** Token labels for the UI (whitespace and control characters made visible), and the id range check. */

export const EOS_LABEL = '<eos>';

/** Guards decode() and tokenLabel() against ids from a different vocabulary. */
export function checkTokenId(id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new RangeError(`Token id ${id} is outside the vocabulary [0, ${vocabSize}).`);
  }
}

const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', ' ': '␣' };
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function labelForText(text: string): string {
  let label = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch in NAMED) label += NAMED[ch];
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) label += `\\x${hex(code)}`;
    else label += ch;
  }
  return label;
}

/** A token's bytes as text where they are valid UTF-8, else as `<0xNN>` per non-ASCII byte. */
export function labelForBytes(bytes: Uint8Array): string {
  try {
    return labelForText(strictUtf8.decode(bytes));
  } catch {
    return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? labelForText(String.fromCharCode(b)) : byteLabel(b))).join('');
  }
}

export function byteLabel(byte: number): string {
  return `<0x${hex(byte)}>`;
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
