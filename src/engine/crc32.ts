/**
 * CRC-32/IEEE lookup table for the reflected polynomial 0xEDB88320, one entry per byte value. Signed 32-bit
 * entries keep the running checksum a small integer in V8 (no heap numbers on the hot path).
 */
const TABLE: Int32Array = buildTable();

function buildTable(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c;
  }
  return table;
}

function step(crc: number, byte: number): number {
  return (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
}

/**
 * CRC-32/IEEE (Go `crc32.ChecksumIEEE`, zlib `crc32`) of the UTF-8 bytes of `text`, as an unsigned 32-bit
 * integer. Lone surrogates are encoded as U+FFFD, as `TextEncoder` and Go's UTF-8 decoding of JSON do.
 * Pass the result of a previous call as `previous` to checksum a concatenation without building it.
 */
export function crc32(text: string, previous = 0): number {
  return crc32Int(text, previous) >>> 0;
}

/**
 * `crc32` as a signed 32-bit integer (the same 32 bits; `>>> 0` gives the unsigned value), which is what the
 * engine keeps and passes around: V8 holds it as a small integer, where an unsigned value above 2^31 would be a
 * heap number, and a bucket (`(checksum >>> 0) % buckets`) is then integer arithmetic instead of a call to fmod.
 * `previous` may be either form.
 */
export function crc32Int(text: string, previous: number): number {
  let crc = ~previous;
  const length = text.length;
  let i = 0;
  // Keys and entity ids are nearly always ASCII: one table step per character.
  for (; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) break;
    crc = (TABLE[(crc ^ code) & 0xff] as number) ^ (crc >>> 8);
  }
  for (; i < length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      crc = step(crc, code);
      continue;
    }
    if (code < 0x800) {
      crc = step(crc, 0xc0 | (code >>> 6));
      crc = step(crc, 0x80 | (code & 0x3f));
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
        crc = step(crc, 0xf0 | (point >>> 18));
        crc = step(crc, 0x80 | ((point >>> 12) & 0x3f));
        crc = step(crc, 0x80 | ((point >>> 6) & 0x3f));
        crc = step(crc, 0x80 | (point & 0x3f));
        continue;
      }
      code = 0xfffd;
    }
    crc = step(crc, 0xe0 | (code >>> 12));
    crc = step(crc, 0x80 | ((code >>> 6) & 0x3f));
    crc = step(crc, 0x80 | (code & 0x3f));
  }
  return ~crc;
}

/**
 * `crc32Int(suffix, previous)` computed from `crc32(suffix)` and the suffix's length in UTF-8 bytes, without reading
 * the suffix: CRC-32 is affine, so the checksum of a concatenation is the prefix's checksum advanced over as many
 * zero bytes as the suffix has (a linear map, applied with four lookups in a table built once per length), xor
 * the suffix's own checksum. A flag key's and an entity id's checksums are each computed once; this joins them.
 * Checksums in and out in either form; the result is signed (see `crc32Int`).
 */
export function crc32ConcatInt(previous: number, suffixCrc32: number, suffixBytes: number): number {
  if (suffixBytes > MAX_SHIFT_BYTES) {
    return advance(previous, suffixBytes) ^ suffixCrc32;
  }
  const table = SHIFT_TABLES[suffixBytes] ?? shiftTable(suffixBytes);
  return (
    (table[previous & 0xff] as number) ^
    (table[256 + ((previous >>> 8) & 0xff)] as number) ^
    (table[512 + ((previous >>> 16) & 0xff)] as number) ^
    (table[768 + (previous >>> 24)] as number) ^
    suffixCrc32
  );
}

/** The longest suffix whose shift table is kept (1 KiB each, built on first use). */
const MAX_SHIFT_BYTES = 256;
const SHIFT_TABLES: (Int32Array | undefined)[] = [];

/** `value` advanced over `bytes` zero bytes (the linear part of a checksum step). */
function advance(value: number, bytes: number): number {
  let crc = value | 0;
  for (let n = 0; n < bytes; n++) {
    crc = (TABLE[crc & 0xff] as number) ^ (crc >>> 8);
  }
  return crc;
}

/** `advance(·, bytes)` of each byte of a 32-bit value at each of its 4 positions: 4 x 256 entries. */
function shiftTable(bytes: number): Int32Array {
  const table = new Int32Array(1024);
  for (let position = 0; position < 4; position++) {
    for (let byte = 0; byte < 256; byte++) {
      table[position * 256 + byte] = advance(byte << (position * 8), bytes);
    }
  }
  SHIFT_TABLES[bytes] = table;
  return table;
}

/** The length of `text` in UTF-8 bytes, as `crc32` encodes it (a lone surrogate becomes 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      // A surrogate pair: 4 bytes for 2 code units; a lone high surrogate: U+FFFD, 3 bytes.
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
