import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { crc32, crc32ConcatInt, crc32Int, utf8Length } from "./crc32.js";

interface HashVector {
  readonly id: string;
  readonly variant_hash_input: string;
  readonly variant_crc32: number;
  readonly boolean_hash_input: string;
  readonly boolean_crc32: number;
}

const vectors: readonly HashVector[] = JSON.parse(
  readFileSync(new URL("../../test/fixtures/engine/evaluation.json", import.meta.url), "utf8"),
).hash_vectors;

describe("crc32", () => {
  it("matches the check value of CRC-32/IEEE", () => {
    assert.equal(crc32("123456789"), 0xcbf43926);
  });

  it("is 0 for the empty string", () => {
    assert.equal(crc32(""), 0);
  });

  it("hashes UTF-8 bytes, not UTF-16 code units (H27: ü = C3 BC)", () => {
    assert.equal(crc32("fooü"), 3533596050);
    assert.equal(crc32("üfoo"), 1275144199);
  });

  it("encodes astral characters as four UTF-8 bytes", () => {
    // zlib.crc32(Buffer.from("😀")) — F0 9F 98 80
    assert.equal(crc32("😀"), crc32("\ud83d\ude00"));
    assert.equal(crc32("😀"), 0x054db544);
  });

  it("encodes lone surrogates as U+FFFD, as TextEncoder does", () => {
    assert.equal(crc32("a\ud800b"), crc32("a\ufffdb"));
    assert.equal(crc32("\udc00"), crc32("\ufffd"));
  });

  it("chains: crc32(b, crc32(a)) equals crc32(a + b)", () => {
    assert.equal(crc32("test-entity", crc32("variant-test-flag")), crc32("variant-test-flagtest-entity"));
    assert.equal(crc32("", crc32("flag1")), crc32("flag1"));
  });

  it("stays unsigned", () => {
    assert.equal(crc32("test-flag", crc32("test-entity")), 4255329765);
  });

  it(`matches every hash vector of §11.1 (${vectors.length})`, () => {
    assert.equal(vectors.length, 27);
    for (const vector of vectors) {
      assert.equal(crc32(vector.variant_hash_input), vector.variant_crc32, `${vector.id} variant`);
      assert.equal(crc32(vector.boolean_hash_input), vector.boolean_crc32, `${vector.id} boolean`);
    }
  });

  const samples = [
    "",
    "a",
    "flag-0001",
    "user-123456",
    "ü",
    "fooü",
    "😀",
    "a\ud800b",
    "\udc00",
    "\ud83d",
    "€",
    "x".repeat(300),
  ];

  it("counts UTF-8 bytes as it encodes them (lone surrogates as the 3 bytes of U+FFFD)", () => {
    for (const text of samples) {
      assert.equal(utf8Length(text), new TextEncoder().encode(text).length, JSON.stringify(text));
    }
  });

  it("gives the same 32 bits signed: crc32Int", () => {
    for (const text of samples) {
      assert.equal(crc32Int(text, 0), crc32(text) | 0);
      assert.equal(crc32Int(text, crc32Int("prefix", 0)) >>> 0, crc32(text, crc32("prefix")));
    }
  });

  it("joins checksums: crc32ConcatInt(crc32(a), crc32(b), bytes of b) is crc32(b, crc32(a))", () => {
    const join = (a: string, b: string) => crc32ConcatInt(crc32(a), crc32(b), utf8Length(b)) >>> 0;
    for (const a of samples) {
      for (const b of samples) {
        assert.equal(join(a, b), crc32(b, crc32(a)), `${a} + ${b}`);
        // Either form in.
        assert.equal(crc32ConcatInt(crc32Int(a, 0), crc32Int(b, 0), utf8Length(b)) >>> 0, join(a, b));
      }
    }
    // Without a surrogate pair split between them, that is the checksum of the concatenation.
    for (const vector of vectors) {
      const [a, b] = [vector.variant_hash_input, vector.boolean_hash_input];
      assert.equal(crc32ConcatInt(crc32(a), 0, 0) >>> 0, crc32(a));
      assert.equal(join(a, b), crc32(a + b), `${a} + ${b}`);
    }
  });
});
