"use strict";
// Verification in the browser, mirroring the Python verifier step for step (docs/format.md §4-7;
// verifier/check.py, keys/trustlist.py, verifier/status.py): the same order of checks, the same verdict
// and reason. Signatures with WebCrypto: ES256 (low-S only) and Ed25519. Time is always passed in.
(function (root) {
  const { FormatError, base45, decode, sign1, sigStructure, hex, equalBytes, compareBytes } = root.PermitCbor;
  const subtle = root.crypto.subtle;

  class Refusal extends Error { constructor(reason, detail) { super(detail); this.reason = reason; } }

  const INDETERMINATE = new Set(["UNSUPPORTED_VERSION", "UNKNOWN_KEY", "NO_TRUST_LIST", "TRUST_LIST_STALE",
    "STATUS_STALE", "STATUS_UNKNOWN"]);
  const SYNC_ACTION = new Set(["UNKNOWN_KEY", "NO_TRUST_LIST", "TRUST_LIST_STALE", "STATUS_STALE", "STATUS_UNKNOWN"]);
  const verdictFor = (reason) => reason === "VALID" ? "valid" : INDETERMINATE.has(reason) ? "indeterminate" : "invalid";
  function actionFor(reason) {
    if (reason === "VALID") return "compare";
    if (reason === "MALFORMED") return "rescan";
    if (reason === "UNSUPPORTED_VERSION") return "update";
    return SYNC_ACTION.has(reason) ? "sync" : "refuse";
  }

  const MAX_TEXT = 3391, MAX_COSE = 3000, MAX_TRUST_LIST = 1024 * 1024, MAX_KEYS = 10000;
  const MAX_STATUS_TOKEN = 64 * 1024 * 1024, MAX_STATUS_ENTRIES = 2 ** 26;
  const MAX_TIME = 7258118400, BODY_MAX = 10n ** 17n, U32 = 2 ** 32;
  const TRUST_TYP = "application/permit-trust-list+cwt", STATUS_TYP = "application/statuslist+cwt";
  const P256_HALF = new Uint8Array(Array.from("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8".match(/../g),
    (h) => parseInt(h, 16)));
  const CATEGORIES = ["talent", "investment", "employment", "family", "contribution", "other"];
  const CHECK = "10X98765432";
  const WEIGHTS = Array.from({ length: 17 }, (_, i) => (2 ** (17 - i)) % 11);
  const EC_SPKI = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
  const ED_SPKI = "302a300506032b6570032100";

  const isInt = (v) => typeof v === "number" || typeof v === "bigint";
  const isUint = (v, limit) => (typeof v === "number" && v >= 0 && v < limit) ||
    (typeof v === "bigint" && v >= 0n && v < BigInt(limit));
  const NONPRINTABLE = /[\p{C}\p{Z}]/u;
  const isText = (v) => typeof v === "string" && v.length > 0 && [...v].length <= 100 &&
    !NONPRINTABLE.test(v.replace(/ /g, "a"));

  // -- keys and signatures -----------------------------------------------------------------------
  const keyCache = new Map();
  function spkiAlg(spki) {
    const h = hex(spki);
    if (spki.length === 91 && h.startsWith(EC_SPKI)) return -7;
    if (spki.length === 44 && h.startsWith(ED_SPKI)) return -8;
    return null;
  }
  async function importSpki(spki) {
    const id = hex(spki);
    let key = keyCache.get(id);
    if (!key) {
      const alg = spkiAlg(spki);
      const params = alg === -7 ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
      key = subtle.importKey("spki", spki, params, false, ["verify"]);
      keyCache.set(id, key);
    }
    return key;
  }
  // A COSE signature (ES256 r||s, low-S only; Ed25519) by the key `spki` of algorithm `alg`.
  async function verifySignature(alg, spki, signature, data) {
    if (spkiAlg(spki) !== alg) return false;
    if (alg === -7) {
      if (signature.length !== 64 || compareBytes(signature.subarray(32), P256_HALF) > 0) return false;
      return subtle.verify({ name: "ECDSA", hash: "SHA-256" }, await importSpki(spki), signature, data);
    }
    return subtle.verify({ name: "Ed25519" }, await importSpki(spki), signature, data);
  }

  // -- the trust list (docs/format.md §6) ----------------------------------------------------------
  const ENTRY_KEYS = new Set(["kid", "alg", "use", "key", "nbf", "state", "exp"]);
  async function keyEntry(entry) {
    if (!(entry instanceof Map)) throw new FormatError("trust list key entry must be a map");
    for (const k of entry.keys()) if (!ENTRY_KEYS.has(k)) throw new FormatError("unknown field in a key entry");
    for (const k of ENTRY_KEYS) if (k !== "exp" && !entry.has(k)) throw new FormatError("key entry lacks " + k);
    const kid = entry.get("kid"), alg = entry.get("alg"), use = entry.get("use"), spki = entry.get("key");
    const nbf = entry.get("nbf"), exp = entry.get("exp"), state = entry.get("state");
    if (!["permit", "status"].includes(use) || !["active", "retired", "compromised"].includes(state)) {
      throw new FormatError("key entry use or state is not known");
    }
    if (!(kid instanceof Uint8Array) || !(spki instanceof Uint8Array) || (alg !== -7 && alg !== -8)) {
      throw new FormatError("key entry has a bad kid, key or algorithm");
    }
    if (!isInt(nbf) || !(exp === undefined || exp === null || isInt(exp))) throw new FormatError("key window must be integers");
    if (spki.length > 1024 || spkiAlg(spki) !== alg) throw new FormatError("key entry: algorithm does not match the key");
    try { await importSpki(spki); } catch (e) { throw new FormatError("key entry: not a valid public key"); }
    const digest = new Uint8Array(await subtle.digest("SHA-256", spki));
    if (!equalBytes(digest.subarray(0, 8), kid)) throw new FormatError("key entry: kid is not the key's own id");
    return { kid: hex(kid), alg, use, spki, nbf: Number(nbf), exp: exp === undefined || exp === null ? null : Number(exp), state };
  }
  const covers = (key, when) => key.nbf <= when && (key.exp === null || when <= key.exp);

  // A trust list signed by one of `signers` (SPKI DER of the keys root.json gives the targets role),
  // not expired at `at`, not older than `current`. Throws Refusal with the reason Python gives.
  async function trustList(data, signers, at, current) {
    let env, trust;
    try {
      env = sign1(data, MAX_TRUST_LIST);
      if (env.typ !== TRUST_TYP) throw new FormatError("not a trust list");
    } catch (e) { throw new Refusal("TRUST_LIST_INVALID", "trust list is malformed: " + e.message); }
    let signed = false;
    for (const spki of signers) {
      if (await verifySignature(env.alg, spki, env.signature, sigStructure(env)).catch(() => false)) { signed = true; break; }
    }
    if (!signed) throw new Refusal("TRUST_LIST_BAD_SIGNATURE", "trust list is not signed by the pinned root's targets key");
    try {
      const c = decode(env.payload);
      if (!(c instanceof Map)) throw new FormatError("trust list payload must be a map");
      const want = [1, 4, 6, "keys", "version", "status_uri"];
      if (c.size !== want.length || !want.every((k) => c.has(k))) throw new FormatError("trust list claims are not exactly the six");
      const version = c.get("version"), iss = c.get(1), iat = c.get(6), exp = c.get(4), uri = c.get("status_uri");
      const keys = c.get("keys");
      if (!(isInt(version) && version >= 0 && isInt(iat) && isInt(exp))) throw new FormatError("version, iat and exp must be integers");
      if (typeof iss !== "string" || typeof uri !== "string" || !uri.includes("{id}")) throw new FormatError("issuer or status_uri");
      if (!Array.isArray(keys) || keys.length > MAX_KEYS) throw new FormatError("keys must be an array");
      const entries = [];
      for (const k of keys) entries.push(await keyEntry(k));
      trust = { version: Number(version), issuer: iss, issuedAt: Number(iat), expiresAt: Number(exp), statusUri: uri,
        keys: entries, raw: data };
    } catch (e) {
      throw new Refusal("TRUST_LIST_INVALID", "trust list is malformed: " + e.message);
    }
    if (at >= trust.expiresAt) throw new Refusal("TRUST_LIST_EXPIRED", "trust list version " + trust.version + " expired");
    if (current) {
      if (trust.version < current.version) throw new Refusal("TRUST_LIST_ROLLBACK", "trust list is older than the one held");
      if (trust.version === current.version && !equalBytes(trust.raw, current.raw)) {
        throw new Refusal("TRUST_LIST_ROLLBACK", "trust list differs from the list of the same version held");
      }
    }
    return trust;
  }
  const candidates = (trust, kid, use) => trust.keys.filter((k) => k.kid === kid && k.use === use);

  // -- status lists (docs/format.md §5) --------------------------------------------------------------
  async function inflate(bytes, limit) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    const reader = stream.getReader();
    const chunks = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) { reader.cancel(); throw new FormatError("status list inflates past the limit"); }
      chunks.push(value);
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  }

  async function statusList(data, trust, listId) {
    try {
      const env = sign1(data, MAX_STATUS_TOKEN);
      if (env.typ !== STATUS_TYP) throw new FormatError("not a status list token");
      let signer = null;
      for (const key of candidates(trust, hex(env.kid), "status")) {
        if (await verifySignature(env.alg, key.spki, env.signature, sigStructure(env)).catch(() => false)) { signer = key; break; }
      }
      if (!signer) throw new FormatError("no status key of the trust list signed this status list");
      if (signer.state === "compromised") throw new FormatError("signed by a compromised key");
      const c = decode(env.payload);
      if (!(c instanceof Map) || c.size !== 5 || ![2, 4, 6, 65534, 65533].every((k) => c.has(k))) {
        throw new FormatError("status list claims must be exactly sub, iat, exp, ttl, status_list");
      }
      const sub = c.get(2), iat = c.get(6), exp = c.get(4), ttl = c.get(65534), sl = c.get(65533);
      if (![iat, exp, ttl].every((v) => isInt(v) && v >= 0)) throw new FormatError("iat, exp and ttl must be integers");
      if (!covers(signer, Number(iat))) throw new FormatError("the list is dated outside its key's window");
      const expected = trust.statusUri.split("{id}").join(String(listId));
      if (sub !== expected) throw new FormatError("status list is for " + sub + ", not " + expected);
      if (!(sl instanceof Map)) throw new FormatError("status_list must be a map");
      const bits = sl.get("bits"), lst = sl.get("lst"), agg = sl.get("aggregation_uri");
      if (![1, 2, 4, 8].includes(bits) || !(lst instanceof Uint8Array) || !(agg === undefined || typeof agg === "string")) {
        throw new FormatError("status_list needs bits and lst");
      }
      let entries;
      try { entries = await inflate(lst, MAX_STATUS_ENTRIES * bits / 8); } catch (e) {
        throw new FormatError("lst is not valid zlib data");
      }
      if (!entries.length) throw new FormatError("status list is empty");
      if (bits !== 2) throw new FormatError("permit status lists use 2 bits per entry");
      return { id: listId, issuedAt: Number(iat), expiresAt: Number(exp), ttl: Number(ttl), entries, raw: data };
    } catch (e) {
      throw new Refusal("STATUS_UNKNOWN", "status list " + listId + " refused: " + e.message);
    }
  }

  // -- permits -----------------------------------------------------------------------------------------
  function permitNumber(body) {
    const text = body.toString().padStart(17, "0");
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += WEIGHTS[i] * (text.charCodeAt(i) - 48);
    return text + CHECK[sum % 11];
  }
  const iso = (t) => new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const localDate = (t) => new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 10);
  const dayDate = (n) => new Date(n * 86400000).toISOString().slice(0, 10);

  const CLAIMS = [1, 4, 5, 6, -65537];
  const PERMIT_KEYS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const PERMIT_KEYS_NO_CHINESE = [1, 2, 3, 4, 6, 7, 8, 9, 10];
  const sameKeys = (map, order) => map.size === order.length && [...map.keys()].every((k, i) => k === order[i]);

  function claims(payload) {
    const c = decode(payload);
    const bad = (what) => new FormatError("permit claims: " + what);
    if (!(c instanceof Map) || !sameKeys(c, CLAIMS)) throw bad("not exactly iss, exp, nbf, iat, permit in order");
    const m = c.get(-65537);
    if (!(m instanceof Map) || !(sameKeys(m, PERMIT_KEYS) || sameKeys(m, PERMIT_KEYS_NO_CHINESE))) throw bad("permit map keys");
    const iss = c.get(1), iat = c.get(6), nbf = c.get(5), exp = c.get(4);
    if (!isText(iss)) throw bad("issuing authority (iss) must be text");
    if (!(isUint(nbf, MAX_TIME) && isUint(exp, MAX_TIME) && isUint(iat, MAX_TIME))) throw bad("dates");
    if (exp <= nbf) throw bad("exp must be after nbf");
    const body = m.get(1), card = m.get(2), surname = m.get(3), given = m.get(4), chinese = m.get(5);
    const sex = m.get(6), birth = m.get(7), nationality = m.get(8), category = m.get(9), status = m.get(10);
    if (!isInt(body) || BigInt(body) < 0n || BigInt(body) >= BODY_MAX) throw bad("permit number must have at most 17 digits");
    if (!isUint(card, U32)) throw bad("card serial");
    if (!(isText(surname) && isText(given) && (chinese === undefined || isText(chinese)))) throw bad("names");
    if (sex !== 1 && sex !== 2) throw bad("sex");
    if (typeof birth !== "number" || !(birth > -60000 && birth < 60000)) throw bad("birth date");
    if (typeof nationality !== "string" || !/^[A-Z]{3}$/.test(nationality)) throw bad("nationality");
    if (typeof category !== "number" || category < 1 || category > 6) throw bad("category");
    if (!Array.isArray(status) || status.length !== 2 || !isUint(status[0], U32) || !isUint(status[1], U32)) throw bad("status");
    return { number: permitNumber(body), card, surname, given_names: given, chinese_name: chinese === undefined ? null : chinese,
      sex: sex === 1 ? "M" : "F", birth_date: dayDate(birth), nationality, category: CATEGORIES[category - 1],
      authority: iss, issue_date: localDate(nbf), expiry_date: localDate(exp - 1), valid_from: iso(nbf),
      valid_until: iso(exp), signed_at: iso(iat), status_list: status[0], status_index: status[1] };
  }

  // What a handheld scanner may add around the text, removed from both ends (docs/format.md §2).
  const SCANNER_SPACE = "[ \\t\\n\\v\\f\\r]";
  const SPACE_START = new RegExp("^" + SCANNER_SPACE + "+"), SPACE_END = new RegExp(SCANNER_SPACE + "+$");

  function parseText(text) {
    if (typeof text !== "string") throw new FormatError("payload must be text");
    // Code points, before trimming (UTF-16 units are never fewer, so count them only when over).
    if (text.length > MAX_TEXT && [...text].length > MAX_TEXT) throw new FormatError("payload is longer than a QR code holds");
    text = text.replace(SPACE_START, "").replace(SPACE_END, "");
    if (!text.startsWith("PR1:")) {
      if (/^PR[0-9]{1,3}:/.test(text)) throw new Refusal("UNSUPPORTED_VERSION", "payload format is not supported");
      throw new FormatError("payload does not start with PR1:");
    }
    const envelope = sign1(base45(text.slice(4)), MAX_COSE);
    if (envelope.typ !== null) throw new FormatError("a permit's protected header carries no typ");
    return envelope;
  }

  // The status of a permit from the held lists (verifier/status.py CachedStatus.status_of).
  function statusOf(permit, held, at, maxAge) {
    const list = held.lists.get(permit.status_list);
    if (!list) throw new Refusal("STATUS_UNKNOWN", "no status list " + permit.status_list + " held; sync");
    if (at >= list.expiresAt) throw new Refusal("STATUS_UNKNOWN", "status list expired; sync");
    const age = Math.max(0, at - (held.vouchedAt === null ? list.issuedAt : held.vouchedAt));
    const idx = permit.status_index;
    if (idx >= list.entries.length * 4) throw new Refusal("STATUS_INDEX_INVALID", "index outside the status list");
    const value = (list.entries[idx >> 2] >> ((idx & 3) << 1)) & 3;
    const reason = ["VALID", "REVOKED", "SUSPENDED", "SUPERSEDED"][value];
    if (reason === "VALID" && held.vouchExpires !== null && at >= held.vouchExpires) {
      throw new Refusal("STATUS_STALE", "the timestamp that last vouched for the list expired: sync from a live source");
    }
    const allowed = maxAge === undefined || maxAge === null ? list.ttl : maxAge;
    if (reason === "VALID" && age > allowed) return { reason: "STATUS_STALE", age };
    return { reason, age };
  }

  // One check (verifier/check.py `check`): `held` is {trust, lists: Map, vouchedAt, vouchExpires} or null.
  async function check(text, held, at, maxAge) {
    const checked = [];
    let permit = null, kid = null, age = null, reason = "VALID", detail = "";
    try {
      let env;
      try { env = parseText(text); } catch (e) { if (e instanceof Refusal) throw e; throw new Refusal("MALFORMED", e.message); }
      checked.push("format");
      kid = hex(env.kid);
      const trust = held && held.trust;
      if (!trust) throw new Refusal("NO_TRUST_LIST", "no trust list loaded");
      if (at >= trust.expiresAt) throw new Refusal("TRUST_LIST_STALE", "trust list has expired");
      const keys = candidates(trust, kid, "permit");
      if (!keys.length) throw new Refusal("UNKNOWN_KEY", "no permit key with kid " + kid);
      let key = null;
      const data = sigStructure(env);
      for (const k of keys) if (await verifySignature(env.alg, k.spki, env.signature, data).catch(() => false)) { key = k; break; }
      if (!key) throw new Refusal("BAD_SIGNATURE", "signature does not verify with the key listed under kid " + kid);
      checked.push("signature");
      try { permit = claims(env.payload); } catch (e) { throw new Refusal("MALFORMED", e.message); }
      const iat = Date.parse(permit.signed_at) / 1000;
      if (key.state === "compromised") throw new Refusal("KEY_COMPROMISED", "signing key is compromised");
      if (!covers(key, iat)) throw new Refusal("KEY_NOT_VALID", "permit was signed outside the key's window");
      checked.push("key");
      if (at < Date.parse(permit.valid_from) / 1000) throw new Refusal("NOT_YET_VALID", "permit is not valid yet");
      if (at >= Date.parse(permit.valid_until) / 1000) throw new Refusal("EXPIRED", "permit has expired");
      checked.push("validity");
      const answer = statusOf(permit, held, at, maxAge);
      age = answer.age;
      checked.push("status");
      if (answer.reason !== "VALID") throw new Refusal(answer.reason, "status list says " + answer.reason.toLowerCase());
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      reason = e.reason;
      detail = e.message;
    }
    return { verdict: verdictFor(reason), reason, detail, permit, kid, checked, status_age: age, action: actionFor(reason) };
  }

  root.PermitVerify = { Refusal, check, trustList, statusList, verifySignature, actionFor, verdictFor };
})(typeof self !== "undefined" ? self : globalThis);
