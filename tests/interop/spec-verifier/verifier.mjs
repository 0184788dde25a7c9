// Independent verifier for the PR1 permit format, written from docs/format.md alone.
// Node.js 20, no npm packages. Every refusal carries the spec's reason code.
//
// Choices made where format.md is silent (see the report for each one):
//  - text length counts code points; the 3,391 limit applies before trimming (spec order).
//  - "PR" + 1-3 digits + ":" includes "PR01:" -> UNSUPPORTED_VERSION.
//  - CBOR nesting: at most 16 nested arrays/maps (the outermost container is level 1).
//  - Printable: \p{...} of the running Node's ICU (Unicode 17.0 here, not the spec's 15.0).
//  - Trust list: refusal order is COSE layout -> signature (kid must be the pinned root's id)
//    -> claims -> expired (T >= exp) -> rollback; one key listed twice for one use is invalid.
//  - Status list: every refusal is reported as STATUS_UNKNOWN (detail names the cause);
//    exp passed at load is refused even outside a sync; age > ttl is stale (age == ttl is not),
//    negative age counts as fresh; an optional verifier allowance is combined with ttl by min().
//  - Not implemented: TUF sync (§5.3), QR image decoding (§8).
import crypto from 'node:crypto';
import zlib from 'node:zlib';

class Refusal extends Error {
  constructor(reason, detail) { super(`${reason}: ${detail}`); this.reason = reason; this.detail = detail; }
}
const fail = (reason, detail) => { throw new Refusal(reason, detail); };

// ---------------------------------------------------------------- base45 (RFC 9285), strict (§2)
const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
export function base45Decode(s) {
  if (s.length % 3 === 1) fail('MALFORMED', 'base45 length leaves one character in the last group');
  const out = [];
  const val = (ch) => { const v = B45.indexOf(ch); if (v < 0) fail('MALFORMED', `base45: bad character ${JSON.stringify(ch)}`); return v; };
  for (let i = 0; i < s.length; i += 3) {
    if (i + 2 < s.length) {
      const n = val(s[i]) + val(s[i + 1]) * 45 + val(s[i + 2]) * 2025;
      if (n > 65535) fail('MALFORMED', 'base45: 3-character group above 65535');
      out.push(n >> 8, n & 0xff);
    } else {
      const n = val(s[i]) + val(s[i + 1]) * 45;
      if (n > 255) fail('MALFORMED', 'base45: 2-character group above 255');
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------- strict deterministic CBOR (§3.1)
// Decodes one item and refuses anything that is not RFC 8949 §4.2.1 core deterministic encoding.
// Integers come back as Number when safe, else BigInt; maps as Map; byte strings as Uint8Array.
const MAX_DEPTH = 16;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function cborDecode(bytes, reason = 'MALFORMED') {
  let pos = 0;
  const bad = (what) => fail(reason, `CBOR: ${what} at byte ${pos}`);
  const need = (n) => { if (n > bytes.length - pos) bad('truncated'); };
  function head() {
    need(1);
    const ib = bytes[pos++], major = ib >> 5, ai = ib & 31;
    let arg;
    if (ai < 24) arg = BigInt(ai);
    else if (ai <= 27) {
      const len = 1 << (ai - 24);
      need(len);
      arg = 0n;
      for (let i = 0; i < len; i++) arg = (arg << 8n) | BigInt(bytes[pos++]);
      const min = [24n, 256n, 65536n, 4294967296n][ai - 24];
      if (major !== 7 && arg < min) bad('non-shortest head');
    } else if (ai === 31) bad('indefinite length or break');
    else bad('reserved additional information');
    return { major, ai, arg };
  }
  const num = (big) => (big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big);
  function item(depth) {
    const { major, ai, arg } = head();
    switch (major) {
      case 0: return num(arg);
      case 1: return num(-1n - arg);
      case 2: case 3: {
        if (arg > BigInt(bytes.length - pos)) bad('truncated string');
        const s = bytes.subarray(pos, pos + Number(arg));
        pos += Number(arg);
        if (major === 2) return s;
        try { return utf8.decode(s); } catch { return bad('invalid UTF-8'); }
      }
      case 4: case 5: {
        if (depth >= MAX_DEPTH) bad('nesting deeper than 16 levels');
        if (arg > BigInt(bytes.length - pos)) bad('truncated container');
        const n = Number(arg);
        if (major === 4) { const a = []; for (let i = 0; i < n; i++) a.push(item(depth + 1)); return a; }
        const m = new Map();
        let prev = null;
        for (let i = 0; i < n; i++) {
          const start = pos;
          const t = bytes[pos] >> 5;
          if (t !== 0 && t !== 1 && t !== 3) bad('map key is not an integer or text string');
          const k = item(depth + 1);
          const enc = bytes.subarray(start, pos);
          if (prev) { const c = compareBytes(prev, enc); if (c === 0) bad('duplicate map key'); if (c > 0) bad('map keys out of order'); }
          prev = enc;
          m.set(k, item(depth + 1));
        }
        return m;
      }
      case 6: return bad('tag');
      default: // major 7
        if (ai === 20) return false;
        if (ai === 21) return true;
        if (ai === 22) return null;
        return bad('float or simple value other than false/true/null');
    }
  }
  const value = item(0);
  if (pos !== bytes.length) bad('bytes after the item');
  return value;
}

// ---------------------------------------------------------------- COSE_Sign1 (§3.2)
// Exactly D2 84 <protected bstr> A0 <payload bstr> <signature bstr>.
export function parseSign1(bytes, typ, reason = 'MALFORMED') {
  if (bytes[0] !== 0xd2) fail(reason, 'COSE: not tag 18');
  const arr = cborDecode(bytes.subarray(1), reason);
  if (!Array.isArray(arr) || arr.length !== 4) fail(reason, 'COSE: not an array of four');
  const [prot, unprot, payload, signature] = arr;
  if (!(prot instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) fail(reason, 'COSE: entries of the wrong type');
  if (!(unprot instanceof Map) || unprot.size !== 0) fail(reason, 'COSE: unprotected header not empty');
  const h = cborDecode(prot, reason);
  if (!(h instanceof Map)) fail(reason, 'protected header is not a map');
  if (!hasExactly(h, typ === null ? [1, 4] : [1, 4, 16])) fail(reason, 'protected header labels are not exactly as §3.2');
  const alg = h.get(1), kid = h.get(4);
  if (alg !== -7 && alg !== -8) fail(reason, `alg ${alg}`);
  if (!(kid instanceof Uint8Array) || kid.length < 1 || kid.length > 32) fail(reason, 'kid not a bstr of 1 to 32 bytes');
  if (typ !== null && h.get(16) !== typ) fail(reason, `typ is not ${typ}`);
  return { prot, payload, signature, alg, kid: Buffer.from(kid).toString('hex') };
}

function bstrHead(len) {
  if (len < 24) return [0x40 | len];
  if (len < 256) return [0x58, len];
  if (len < 65536) return [0x59, len >> 8, len & 0xff];
  return [0x5a, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff];
}
// Sig_structure ["Signature1", protected, h'', payload] (RFC 9052 §4.4)
function sigStructure(prot, payload) {
  return Buffer.concat([Buffer.from([0x84, 0x6a]), Buffer.from('Signature1'), Buffer.from(bstrHead(prot.length)), prot,
    Buffer.from([0x40]), Buffer.from(bstrHead(payload.length)), payload]);
}

const P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;
// Returns true only for a valid signature under `key` ({alg, pub: KeyObject}); false otherwise.
export function verifySign1(cose, key) {
  if (cose.alg !== key.alg || cose.signature.length !== 64) return false;
  const data = sigStructure(cose.prot, cose.payload);
  try {
    if (key.alg === -7) {
      const s = BigInt('0x' + Buffer.from(cose.signature.subarray(32)).toString('hex'));
      if (s > P256_N / 2n) return false; // low-S rule: s <= n / 2
      return crypto.verify('sha256', data, { key: key.pub, dsaEncoding: 'ieee-p1363' }, cose.signature);
    }
    return crypto.verify(null, data, key.pub, cose.signature);
  } catch { return false; }
}

// A DER SubjectPublicKeyInfo -> {alg, pub, id}; alg from the key type (P-256: -7, Ed25519: -8).
function spkiKey(der) {
  const pub = crypto.createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  let alg = null;
  if (pub.asymmetricKeyType === 'ec' && pub.asymmetricKeyDetails.namedCurve === 'prime256v1') alg = -7;
  if (pub.asymmetricKeyType === 'ed25519') alg = -8;
  return { alg, pub, id: keyId(der) };
}
const keyId = (der) => crypto.createHash('sha256').update(der).digest().subarray(0, 8).toString('hex');

// ---------------------------------------------------------------- helpers for claims
const isUint = (v, max) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && (max === undefined || v < max);
const isInt = (v) => typeof v === 'number' && Number.isInteger(v);
const NONPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
function isPrintableText(v, maxLen = 100) {
  if (typeof v !== 'string') return false;
  const n = [...v].length;
  return n >= 1 && n <= maxLen && !NONPRINTABLE.test(v.replaceAll(' ', ''));
}
const hasExactly = (m, keys) => m instanceof Map && m.size === keys.length && keys.every((k) => m.has(k));
const isoSeconds = (t) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
const isoDate = (t) => new Date(t * 1000).toISOString().slice(0, 10);
const PLUS8 = 8 * 3600;

// ---------------------------------------------------------------- trust list (§6)
const TRUST_TYP = 'application/permit-trust-list+cwt';
export function loadTrustList(bytes, rootPem, atEpoch, current = null) {
  try {
    const INV = 'TRUST_LIST_INVALID';
    if (bytes.length > 1024 * 1024) fail(INV, 'larger than 1 MiB');
    const cose = parseSign1(bytes, TRUST_TYP, INV);
    const root = spkiKey(crypto.createPublicKey(rootPem).export({ type: 'spki', format: 'der' }));
    // The pinned root must be the signer: its kid, its alg, a valid low-S signature.
    if (cose.kid !== root.id || !verifySign1(cose, root)) fail('TRUST_LIST_BAD_SIGNATURE', 'not signed by the pinned root');
    const c = cborDecode(cose.payload, INV);
    if (!hasExactly(c, [1, 4, 6, 'keys', 'version', 'status_uri'])) fail(INV, 'claims are not exactly the six');
    const iss = c.get(1), exp = c.get(4), iat = c.get(6), version = c.get('version'), statusUri = c.get('status_uri'), entries = c.get('keys');
    if (typeof iss !== 'string' || !isUint(exp) || !isUint(iat) || !isUint(version)) fail(INV, 'iss/iat/exp/version type');
    if (typeof statusUri !== 'string' || !statusUri.includes('{id}')) fail(INV, 'status_uri has no {id}');
    if (!Array.isArray(entries) || entries.length > 10000) fail(INV, 'keys is not an array of at most 10,000');
    const keys = [];
    for (const e of entries) {
      const names = e instanceof Map ? [...e.keys()] : [];
      const required = ['kid', 'alg', 'use', 'key', 'nbf', 'state'];
      if (!required.every((k) => names.includes(k)) || !names.every((k) => required.includes(k) || k === 'exp')) fail(INV, 'key entry fields');
      const kid = e.get('kid'), alg = e.get('alg'), use = e.get('use'), der = e.get('key'), nbf = e.get('nbf'), state = e.get('state');
      const kexp = e.has('exp') ? e.get('exp') : null;
      if (!(kid instanceof Uint8Array) || !(der instanceof Uint8Array) || !isInt(alg) || !isInt(nbf) || (kexp !== null && !isInt(kexp))) fail(INV, 'key entry types');
      if (use !== 'permit' && use !== 'status') fail(INV, `use ${use}`);
      if (!['active', 'retired', 'compromised'].includes(state)) fail(INV, `state ${state}`);
      let k;
      try { k = spkiKey(der); } catch { fail(INV, 'key is not a DER SubjectPublicKeyInfo'); }
      if (k.alg === null || k.alg !== alg) fail(INV, 'key algorithm does not match alg');
      if (Buffer.from(kid).toString('hex') !== k.id) fail(INV, 'a key listed under a kid that is not its own');
      if (keys.some((o) => o.id === k.id && o.use === use)) fail(INV, 'the same key listed twice for one use');
      keys.push({ ...k, use, nbf, exp: kexp, state });
    }
    if (atEpoch >= exp) fail('TRUST_LIST_EXPIRED', 'exp has passed');
    if (current && (version < current.version || (version === current.version && !Buffer.from(bytes).equals(current.bytes))))
      fail('TRUST_LIST_ROLLBACK', `version ${version} over held version ${current.version}`);
    return { ok: true, reason: 'OK', trust: { iss, iat, exp, version, statusUri, keys, bytes: Buffer.from(bytes) } };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, reason: e.reason, detail: e.detail };
    throw e;
  }
}

// ---------------------------------------------------------------- status list (§5.1)
const STATUS_TYP = 'application/statuslist+cwt';
const MAX_ENTRIES = 2 ** 26;
export function loadStatusList(bytes, trust, id, atEpoch, current = null) {
  try {
    const U = 'STATUS_UNKNOWN'; // every refusal leaves the list's permits STATUS_UNKNOWN
    if (!trust) fail(U, 'no trust list');
    if (bytes.length > 64 * 1024 * 1024) fail(U, 'larger than 64 MiB');
    const cose = parseSign1(bytes, STATUS_TYP, U);
    const key = trust.keys.find((k) => k.id === cose.kid && k.use === 'status');
    if (!key) fail(U, 'kid is not a status key of the trust list');
    if (!verifySign1(cose, key)) fail(U, 'bad signature');
    if (key.state === 'compromised') fail(U, 'signed by a compromised key');
    const c = cborDecode(cose.payload, U);
    if (!hasExactly(c, [2, 4, 6, 65533, 65534])) fail(U, 'claims are not exactly the five');
    const sub = c.get(2), exp = c.get(4), iat = c.get(6), sl = c.get(65533), ttl = c.get(65534);
    if (!isUint(iat) || !isUint(exp) || !isUint(ttl)) fail(U, 'iat/exp/ttl not uints');
    if (iat < key.nbf || (key.exp !== null && iat > key.exp)) fail(U, 'iat outside the key window');
    if (sub !== trust.statusUri.replaceAll('{id}', String(id))) fail(U, `sub ${sub} is not the URI of list ${id}`);
    if (!(sl instanceof Map) || !sl.has('bits') || !sl.has('lst') || [...sl.keys()].some((k) => !['bits', 'lst', 'aggregation_uri'].includes(k))) fail(U, 'status_list map keys');
    if (sl.has('aggregation_uri') && typeof sl.get('aggregation_uri') !== 'string') fail(U, 'aggregation_uri not text');
    if (sl.get('bits') !== 2) fail(U, 'bits is not 2');
    const lst = sl.get('lst');
    if (!(lst instanceof Uint8Array)) fail(U, 'lst is not a bstr');
    let out;
    try { out = zlib.inflateSync(lst, { info: true, maxOutputLength: MAX_ENTRIES / 4 }); }
    catch (e) { fail(U, `lst: ${e.code === 'ERR_BUFFER_TOO_LARGE' ? 'more than 2^26 entries' : 'not a complete ZLIB stream'}`); }
    if (out.engine.bytesWritten !== lst.length) fail(U, 'bytes after the ZLIB stream');
    if (out.buffer.length === 0) fail(U, 'lst inflates to nothing');
    if (atEpoch >= exp) fail(U, 'STATUS_LIST_EXPIRED');
    if (current && iat < current.iat) fail(U, 'STATUS_LIST_ROLLBACK');
    return { ok: true, reason: 'OK', list: { id, iat, exp, ttl, vouchedAt: iat, bits: out.buffer, entries: out.buffer.length * 4 } };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, reason: e.reason, detail: e.detail };
    throw e;
  }
}

// ---------------------------------------------------------------- permit claims (§4)
const CATEGORIES = ['talent', 'investment', 'employment', 'family', 'contribution', 'other'];
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
export function permitNumber(n17) {
  const digits = BigInt(n17).toString().padStart(17, '0');
  const s = [...digits].reduce((acc, d, i) => acc + Number(d) * WEIGHTS[i], 0);
  const check = (12 - (s % 11)) % 11;
  return digits + (check === 10 ? 'X' : String(check));
}

function readClaims(payload) {
  const c = cborDecode(payload);
  const M = (what) => fail('MALFORMED', what);
  if (!hasExactly(c, [1, 4, 5, 6, -65537])) M('claims are not exactly iss, exp, nbf, iat, permit');
  const iss = c.get(1), exp = c.get(4), nbf = c.get(5), iat = c.get(6), p = c.get(-65537);
  const DATE_MAX = 7258118400;
  if (!isPrintableText(iss)) M('iss');
  if (!isUint(exp, DATE_MAX) || !isUint(nbf, DATE_MAX) || !isUint(iat, DATE_MAX)) M('exp/nbf/iat');
  if (exp <= nbf) M('exp is not greater than nbf');
  const hasCn = p instanceof Map && p.has(5);
  if (!hasExactly(p, hasCn ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [1, 2, 3, 4, 6, 7, 8, 9, 10])) M('permit map keys');
  const number = p.get(1), card = p.get(2), sex = p.get(6), birth = p.get(7), nat = p.get(8), cat = p.get(9), status = p.get(10);
  if (!((typeof number === 'number' || typeof number === 'bigint') && BigInt(number) >= 0n && BigInt(number) < 10n ** 17n)) M('permit number');
  if (!isUint(card, 2 ** 32)) M('card serial');
  if (!isPrintableText(p.get(3)) || !isPrintableText(p.get(4)) || (hasCn && !isPrintableText(p.get(5)))) M('names');
  if (sex !== 1 && sex !== 2) M('sex');
  if (!isInt(birth) || birth <= -60000 || birth >= 60000) M('birth date');
  if (typeof nat !== 'string' || !/^[A-Z]{3}$/.test(nat)) M('nationality');
  if (!isUint(cat) || cat < 1 || cat > 6) M('category');
  if (!Array.isArray(status) || status.length !== 2 || !status.every((v) => isUint(v, 2 ** 32))) M('status reference');
  return {
    number: permitNumber(number), card, surname: p.get(3), given_names: p.get(4), chinese_name: hasCn ? p.get(5) : null,
    sex: sex === 1 ? 'M' : 'F', birth_date: isoDate(birth * 86400), nationality: nat, category: CATEGORIES[cat - 1],
    authority: iss, issue_date: isoDate(nbf + PLUS8), expiry_date: isoDate(exp - 1 + PLUS8),
    valid_from: isoSeconds(nbf), valid_until: isoSeconds(exp), signed_at: isoSeconds(iat),
    status_list: status[0], status_index: status[1],
    _t: { exp, nbf, iat },
  };
}

// ---------------------------------------------------------------- verification procedure (§7)
const VERDICT = {
  VALID: 'valid', UNSUPPORTED_VERSION: 'indeterminate', NO_TRUST_LIST: 'indeterminate', TRUST_LIST_STALE: 'indeterminate',
  UNKNOWN_KEY: 'indeterminate', STATUS_UNKNOWN: 'indeterminate', STATUS_STALE: 'indeterminate',
};
const result = (reason, permit = null) => {
  if (permit) delete permit._t;
  return { verdict: VERDICT[reason] ?? 'invalid', reason, permit };
};

// statusLists: Map (or object) list number -> loaded list, or null for "no status source" (step 9 skipped).
// staleAllowance: optional verifier-side maximum age in seconds (§5.2).
export function check(text, trust, statusLists, atEpoch, staleAllowance = Infinity) {
  try {
    // Step 1: text layer (§2)
    if (text.length > 3391 && [...text].length > 3391) return result('MALFORMED');
    text = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
    if (!text.startsWith('PR1:')) return result(/^PR[0-9]{1,3}:/.test(text) ? 'UNSUPPORTED_VERSION' : 'MALFORMED');
    const bytes = base45Decode(text.slice(4));
    if (bytes.length > 3000) return result('MALFORMED');
    const cose = parseSign1(bytes, null);
    // Step 2: trust list
    if (!trust) return result('NO_TRUST_LIST');
    if (atEpoch >= trust.exp) return result('TRUST_LIST_STALE');
    // Step 3: key
    const key = trust.keys.find((k) => k.id === cose.kid && k.use === 'permit');
    if (!key) return result('UNKNOWN_KEY');
    // Step 4: signature
    if (!verifySign1(cose, key)) return result('BAD_SIGNATURE');
    // Step 5: claims
    const permit = readClaims(cose.payload);
    const { exp, nbf, iat } = permit._t;
    // Steps 6-8: key state, key window, permit validity
    if (key.state === 'compromised') return result('KEY_COMPROMISED', permit);
    if (iat < key.nbf || (key.exp !== null && iat > key.exp)) return result('KEY_NOT_VALID', permit);
    if (atEpoch < nbf) return result('NOT_YET_VALID', permit);
    if (atEpoch >= exp) return result('EXPIRED', permit);
    // Step 9: status (§5.2)
    if (statusLists) {
      const list = statusLists instanceof Map ? statusLists.get(permit.status_list) : statusLists[permit.status_list];
      if (!list || atEpoch >= list.exp) return result('STATUS_UNKNOWN', permit);
      const idx = permit.status_index;
      if (idx >= list.entries) return result('STATUS_INDEX_INVALID', permit);
      const entry = (list.bits[(idx * 2) >> 3] >> ((idx * 2) % 8)) & 3;
      if (entry !== 0) return result(['', 'REVOKED', 'SUSPENDED', 'SUPERSEDED'][entry], permit);
      if (atEpoch - list.vouchedAt > Math.min(list.ttl, staleAllowance)) return result('STATUS_STALE', permit);
    }
    return result('VALID', permit);
  } catch (e) {
    if (e instanceof Refusal) return result(e.reason);
    throw e;
  }
}
