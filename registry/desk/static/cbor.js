"use strict";
// Strict decoding for the desk page (docs/format.md §2-3): base45 (RFC 9285) and deterministic CBOR
// (RFC 8949 §4.2.1) - minimal heads, definite lengths, map keys in bytewise order without repeats, no
// floats or simple values but false/true/null, no tag below the top, valid UTF-8, nothing after the item.
// Integers come back as Numbers when safe and as BigInt above 2^53, so nothing is rounded.
(function (root) {
  const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const DIGITS = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) DIGITS[ALPHABET.charCodeAt(i)] = i;
  const MAX_DEPTH = 16;
  const UTF8 = new TextDecoder("utf-8", { fatal: true });

  class FormatError extends Error {}

  function base45(text) {
    const n = text.length;
    if (n % 3 === 1) throw new FormatError("base45: a single character at the end");
    const out = new Uint8Array(Math.floor(n / 3) * 2 + (n % 3 === 2 ? 1 : 0));
    let o = 0;
    for (let i = 0; i < n; i += 3) {
      const d = [];
      for (let j = i; j < Math.min(i + 3, n); j++) {
        const c = text.charCodeAt(j);
        const v = c < 128 ? DIGITS[c] : -1;
        if (v < 0) throw new FormatError("base45: character at offset " + j + " is not base45");
        d.push(v);
      }
      if (d.length === 3) {
        const v = d[0] + 45 * d[1] + 2025 * d[2];
        if (v > 0xffff) throw new FormatError("base45: group above 65535");
        out[o++] = v >> 8; out[o++] = v & 0xff;
      } else {
        const v = d[0] + 45 * d[1];
        if (v > 0xff) throw new FormatError("base45: final group above 255");
        out[o++] = v;
      }
    }
    return out;
  }

  function compareBytes(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }

  // One item at data[pos]: [value, position after it]. Maps become Map objects (keys: Number, BigInt or
  // string, as decoded), arrays Arrays, byte strings Uint8Array views.
  function item(data, pos, depth, topTag) {
    if (depth > MAX_DEPTH) throw new FormatError("nested more than " + MAX_DEPTH + " deep");
    if (pos >= data.length) throw new FormatError("truncated at byte " + pos);
    const start = pos;
    const initial = data[pos++];
    const major = initial >> 5, info = initial & 0x1f;
    let arg;
    if (info < 24) arg = info;
    else if (info <= 27) {
      const width = 1 << (info - 24);
      if (pos + width > data.length) throw new FormatError("truncated at byte " + start);
      let big = 0n;
      for (let i = 0; i < width; i++) big = (big << 8n) | BigInt(data[pos + i]);
      pos += width;
      const min = info === 24 ? 24n : 1n << BigInt(4 * width); // 24, 0x100, 0x10000, 0x100000000
      if (major !== 7 && big < min) throw new FormatError("non-minimal head at byte " + start);
      arg = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    } else if (info === 31) throw new FormatError("indefinite-length item at byte " + start);
    else throw new FormatError("reserved additional information at byte " + start);
    switch (major) {
      case 0: return [arg, pos];
      case 1: return [typeof arg === "bigint" || arg >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(arg) : -1 - arg, pos];
      case 2: case 3: {
        if (typeof arg === "bigint" || pos + arg > data.length) throw new FormatError("truncated string at byte " + start);
        const bytes = data.subarray(pos, pos + arg);
        if (major === 2) return [bytes, pos + arg];
        try { return [UTF8.decode(bytes), pos + arg]; } catch (e) {
          throw new FormatError("text string is not valid UTF-8 at byte " + start);
        }
      }
      case 4: {
        if (typeof arg === "bigint" || arg > data.length) throw new FormatError("truncated array at byte " + start);
        const out = [];
        for (let i = 0; i < arg; i++) { const r = item(data, pos, depth + 1); out.push(r[0]); pos = r[1]; }
        return [out, pos];
      }
      case 5: {
        if (typeof arg === "bigint" || arg > data.length) throw new FormatError("truncated map at byte " + start);
        const out = new Map();
        let previous = null;
        for (let i = 0; i < arg; i++) {
          const keyStart = pos;
          const k = item(data, pos, depth + 1);
          const key = k[0];
          if (!(typeof key === "number" || typeof key === "bigint" || typeof key === "string")) {
            throw new FormatError("map keys must be integers or text strings");
          }
          const encoded = data.subarray(keyStart, k[1]);
          if (previous !== null) {
            const c = compareBytes(encoded, previous);
            if (c === 0) throw new FormatError("duplicate map key at byte " + keyStart);
            if (c < 0) throw new FormatError("map keys not in deterministic order at byte " + keyStart);
          }
          previous = encoded;
          const v = item(data, k[1], depth + 1);
          out.set(key, v[0]);
          pos = v[1];
        }
        return [out, pos];
      }
      case 6:
        if (depth !== 0 || topTag === undefined || arg !== topTag) throw new FormatError("tag " + arg + " not allowed");
        return item(data, pos, depth + 1);
      default:
        if (info === 20) return [false, pos];
        if (info === 21) return [true, pos];
        if (info === 22) return [null, pos];
        throw new FormatError("floating-point or simple value at byte " + start);
    }
  }

  // The deterministic encoding of one item and nothing after it (tagged `tag` at the top if given).
  function decode(data, tag) {
    if (tag !== undefined && (data.length === 0 || data[0] >> 5 !== 6)) throw new FormatError("the item must be tagged " + tag);
    const [value, end] = item(data, 0, 0, tag);
    if (end !== data.length) throw new FormatError((data.length - end) + " bytes after the end of the item");
    return value;
  }

  // A deterministically encoded byte string at pos: [bytes, end] or null (the COSE layout reader).
  function bstrAt(data, pos) {
    if (pos >= data.length) return null;
    const head = data[pos];
    let n;
    if (head >= 0x40 && head <= 0x57) { n = head - 0x40; pos += 1; }
    else if (head === 0x58 && pos + 1 < data.length && data[pos + 1] >= 24) { n = data[pos + 1]; pos += 2; }
    else if (head === 0x59 && pos + 2 < data.length && data[pos + 1]) { n = (data[pos + 1] << 8) | data[pos + 2]; pos += 3; }
    else if (head === 0x5a && pos + 4 < data.length && (data[pos + 1] || data[pos + 2])) {
      n = ((data[pos + 1] << 24) >>> 0) + (data[pos + 2] << 16) + (data[pos + 3] << 8) + data[pos + 4]; pos += 5;
    } else return null;
    return pos + n <= data.length ? [data.subarray(pos, pos + n), pos + n] : null;
  }

  const ALGS = new Set([-7, -8]);

  // COSE_Sign1 (docs/format.md §3): 18([bstr protected, {}, bstr payload, bstr signature]) and nothing
  // else; the protected header a deterministic map of alg (ES256 or EdDSA), kid (1-32 bytes), typ.
  function sign1(data, maxSize) {
    if (data.length > maxSize) throw new FormatError("COSE_Sign1 is " + data.length + " bytes, more than " + maxSize);
    if (data[0] !== 0xd2 || data[1] !== 0x84) throw new FormatError("not a tagged COSE_Sign1 array of 4");
    const protectedPart = bstrAt(data, 2);
    if (!protectedPart || protectedPart[1] >= data.length || data[protectedPart[1]] !== 0xa0) {
      throw new FormatError("COSE_Sign1 needs a byte-string protected header and an empty unprotected header");
    }
    const payload = bstrAt(data, protectedPart[1] + 1);
    const signature = payload ? bstrAt(data, payload[1]) : null;
    if (!signature || signature[1] !== data.length) throw new FormatError("COSE_Sign1 payload or signature is bad, or bytes follow");
    const header = decode(protectedPart[0]);
    if (!(header instanceof Map)) throw new FormatError("protected header must be a map");
    for (const k of header.keys()) if (k !== 1 && k !== 4 && k !== 16) throw new FormatError("protected header may carry only alg, kid and typ");
    const alg = header.get(1), kid = header.get(4), typ = header.get(16);
    if (typeof alg !== "number" || !ALGS.has(alg)) throw new FormatError("unsupported or missing algorithm");
    if (!(kid instanceof Uint8Array) || kid.length < 1 || kid.length > 32) throw new FormatError("protected header must carry a kid of 1 to 32 bytes");
    if (typ !== undefined && typeof typ !== "string") throw new FormatError("typ header must be text");
    return { protectedRaw: protectedPart[0], alg, kid, typ: typ === undefined ? null : typ,
      payload: payload[0], signature: signature[0] };
  }

  // ["Signature1", protected, h'', payload] (RFC 9052 §4.4), the bytes a COSE_Sign1 signature covers.
  function bstrHead(n) {
    if (n < 24) return [0x40 | n];
    if (n < 0x100) return [0x58, n];
    if (n < 0x10000) return [0x59, n >> 8, n & 0xff];
    return [0x5a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  }
  const PREFIX = [0x84, 0x6a, ...new TextEncoder().encode("Signature1")];
  function sigStructure(env) {
    const parts = [PREFIX, bstrHead(env.protectedRaw.length), env.protectedRaw, [0x40], bstrHead(env.payload.length), env.payload];
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  function equalBytes(a, b) { return a.length === b.length && compareBytes(a, b) === 0; }

  root.PermitCbor = { FormatError, base45, decode, sign1, sigStructure, hex, equalBytes, compareBytes };
})(typeof self !== "undefined" ? self : globalThis);
