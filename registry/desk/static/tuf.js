"use strict";
// The TUF client workflow in the browser (TUF specification 1.0 §5, as python-tuf's ngclient runs it for
// the Python verifier): the pinned root and its chain of N+1 versions, each signed by the old and the new
// threshold; timestamp, snapshot and targets signed by the roles root names, versions never going back
// (the last trusted metadata is kept in storage), expiry judged at the time passed in, and every target's
// length and SHA-256. Signatures are over canonical JSON exactly as securesystemslib encodes it.
(function (root) {
  const { hex, equalBytes } = root.PermitCbor;
  const subtle = root.crypto.subtle;

  class SyncError extends Error {
    constructor(reason, detail, status) { super(detail); this.reason = reason; this.status = status || 0; }
  }

  const LIMITS = { root: 256 * 1024, timestamp: 16 * 1024, snapshot: 64 * 1024, targets: 2 * 1024 * 1024 };
  const MAX_ROTATIONS = 64, MAX_TARGET = 64 * 1024 * 1024;
  const ED_SPKI = "302a300506032b6570032100";
  const UTF8 = new TextDecoder("utf-8", { fatal: true });
  const ENC = new TextEncoder();

  // securesystemslib.formats.encode_canonical: sorted keys, no spaces, only \ and " escaped, integers only.
  function canonical(value) {
    if (typeof value === "string") return '"' + value.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
    if (value === true) return "true";
    if (value === false) return "false";
    if (value === null) return "null";
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new SyncError("SYNC_INVALID", "metadata holds a number that is not an integer");
      return String(value);
    }
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (typeof value === "object") {
      const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return "{" + keys.map((k) => canonical(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    throw new SyncError("SYNC_INVALID", "metadata holds a value canonical JSON cannot encode");
  }

  const fromHex = (h) => new Uint8Array((h.match(/../g) || []).map((b) => parseInt(b, 16)));
  function pemBody(pem) {
    const b64 = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  // A TUF key as the SPKI DER of the same key (what signs the trust list, too), or null if unsupported.
  function keySpki(key) {
    const pub = key && key.keyval && key.keyval.public;
    if (typeof pub !== "string") return null;
    try {
      if (key.keytype === "ecdsa" && key.scheme === "ecdsa-sha2-nistp256") return { alg: -7, spki: pemBody(pub) };
      if (key.keytype === "ed25519" && key.scheme === "ed25519" && /^[0-9a-f]{64}$/.test(pub)) {
        return { alg: -8, spki: fromHex(ED_SPKI + pub) };
      }
    } catch (e) { return null; }
    return null;
  }

  // DER ECDSA-Sig-Value -> the 64-byte r||s WebCrypto takes.
  function derToRaw(der) {
    const out = new Uint8Array(64);
    if (der[0] !== 0x30 || der[1] !== der.length - 2) return null;
    let pos = 2;
    for (let i = 0; i < 2; i++) {
      if (der[pos] !== 0x02) return null;
      const n = der[pos + 1];
      let int = der.subarray(pos + 2, pos + 2 + n);
      pos += 2 + n;
      while (int.length > 32 && int[0] === 0) int = int.subarray(1);
      if (int.length > 32) return null;
      out.set(int, 32 * i + 32 - int.length);
    }
    return pos === der.length ? out : null;
  }

  async function verifyOne(key, sigHex, data) {
    const k = keySpki(key);
    if (!k || typeof sigHex !== "string" || !/^([0-9a-f]{2})*$/.test(sigHex)) return false;
    try {
      if (k.alg === -7) {
        const raw = derToRaw(fromHex(sigHex));
        if (!raw) return false;
        const pub = await subtle.importKey("spki", k.spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
        return await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, raw, data);
      }
      const pub = await subtle.importKey("spki", k.spki, { name: "Ed25519" }, false, ["verify"]);
      return await subtle.verify({ name: "Ed25519" }, pub, fromHex(sigHex), data);
    } catch (e) { return false; }
  }

  // python-tuf Metadata.verify_delegate: distinct keys of the role whose signatures verify >= threshold.
  async function verifyDelegate(delegator, role, md) {
    const r = delegator.signed.roles && delegator.signed.roles[role];
    if (!r || !Array.isArray(r.keyids) || !Number.isInteger(r.threshold) || r.threshold < 1) {
      throw new SyncError("SYNC_INVALID", "root names no " + role + " role");
    }
    const data = ENC.encode(canonical(md.signed));
    const sigs = new Map();
    for (const s of md.signatures) if (s && typeof s.keyid === "string") sigs.set(s.keyid, s.sig);
    let count = 0;
    for (const keyid of new Set(r.keyids)) {
      const key = delegator.signed.keys[keyid];
      if (key && sigs.has(keyid) && (await verifyOne(key, sigs.get(keyid), data))) count++;
    }
    if (count < r.threshold) {
      throw new SyncError("SYNC_BAD_SIGNATURE", role + " metadata has " + count + " of the " + r.threshold + " signatures it needs");
    }
  }

  function parse(bytes, type) {
    let md;
    try { md = JSON.parse(UTF8.decode(bytes)); } catch (e) { throw new SyncError("SYNC_INVALID", type + " metadata is not JSON"); }
    const s = md && md.signed;
    if (!s || !Array.isArray(md.signatures) || s._type !== type || !Number.isSafeInteger(s.version) || s.version < 1 ||
        typeof s.expires !== "string" || !/Z$/.test(s.expires) || Number.isNaN(Date.parse(s.expires))) {
      throw new SyncError("SYNC_INVALID", "not valid " + type + " metadata");
    }
    if (typeof s.spec_version !== "string" || s.spec_version.split(".")[0] !== "1") {
      throw new SyncError("SYNC_INVALID", type + " metadata is for another TUF specification version");
    }
    const keyids = md.signatures.map((sig) => sig && sig.keyid);
    if (new Set(keyids).size !== keyids.length) throw new SyncError("SYNC_INVALID", type + " metadata repeats a signature");
    if (type === "root" && (typeof s.keys !== "object" || typeof s.roles !== "object")) throw new SyncError("SYNC_INVALID", "root has no keys");
    md.expiresAt = Date.parse(s.expires) / 1000;
    return md;
  }
  const expired = (md, at) => at >= md.expiresAt;

  // Bytes of base + path with a size limit; HTTP and network failures are SYNC_UNAVAILABLE.
  async function fetchBytes(url, limit) {
    let response;
    try { response = await fetch(url, { cache: "no-store" }); } catch (e) {
      throw new SyncError("SYNC_UNAVAILABLE", "cannot reach " + url);
    }
    if (!response.ok) throw new SyncError("SYNC_UNAVAILABLE", url + " answered HTTP " + response.status, response.status);
    const reader = response.body.getReader();
    const chunks = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) { reader.cancel(); throw new SyncError("SYNC_TOO_LARGE", url + " sent more than " + limit + " bytes"); }
      chunks.push(value);
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  }

  async function sha256Hex(bytes) { return hex(new Uint8Array(await subtle.digest("SHA-256", bytes))); }

  async function checkMeta(bytes, meta, what) {
    if (!meta) return;
    if (meta.length !== undefined && bytes.length !== meta.length) throw new SyncError("SYNC_MIX_AND_MATCH", what + " has the wrong length");
    if (meta.hashes && meta.hashes.sha256 !== undefined && (await sha256Hex(bytes)) !== meta.hashes.sha256) {
      throw new SyncError("SYNC_MIX_AND_MATCH", what + " does not have the hash the signed metadata lists");
    }
  }

  async function trustedOrNull(bytes, type, rootMd) {
    if (!bytes) return null;
    try { const md = parse(bytes, type); await verifyDelegate(rootMd, type, md); md.bytes = bytes; return md; } catch (e) { return null; }
  }

  // One TUF refresh from `base` (ending in /metadata/) at `at`; `held` is what storage holds (or null).
  // Returns {root, timestamp, snapshot, targets} (each with .bytes) without writing anything.
  async function refresh(base, at, held) {
    let rootMd;
    if (held && held.root) {
      rootMd = parse(held.root, "root");
      rootMd.bytes = held.root;
    } else {
      const bytes = await fetchBytes(base + "root.json", LIMITS.root);
      rootMd = parse(bytes, "root");
      try { await verifyDelegate(rootMd, "root", rootMd); } catch (e) {
        throw new SyncError("ROOT_NOT_PINNED", "root.json is not signed by its own threshold");
      }
      rootMd.bytes = bytes;
    }
    for (let i = 0; i < MAX_ROTATIONS; i++) {
      const next = rootMd.signed.version + 1;
      let bytes;
      try { bytes = await fetchBytes(base + next + ".root.json", LIMITS.root); } catch (e) {
        if (e.status === 404 || e.status === 403) break; // no newer root
        throw e;
      }
      const md = parse(bytes, "root");
      await verifyDelegate(rootMd, "root", md);
      await verifyDelegate(md, "root", md);
      if (md.signed.version !== next) throw new SyncError("SYNC_ROLLBACK", "root version " + md.signed.version + " where " + next + " was expected");
      md.bytes = bytes;
      rootMd = md;
    }
    if (expired(rootMd, at)) throw new SyncError("SYNC_FROZEN", "the root metadata has expired");

    const oldTs = await trustedOrNull(held && held.timestamp, "timestamp", rootMd);
    const tsBytes = await fetchBytes(base + "timestamp.json", LIMITS.timestamp);
    let ts = parse(tsBytes, "timestamp");
    await verifyDelegate(rootMd, "timestamp", ts);
    ts.bytes = tsBytes;
    const snapMeta = (t) => t.signed.meta && t.signed.meta["snapshot.json"];
    if (!snapMeta(ts) || !Number.isSafeInteger(snapMeta(ts).version)) throw new SyncError("SYNC_INVALID", "timestamp names no snapshot");
    if (oldTs) {
      if (ts.signed.version < oldTs.signed.version) {
        throw new SyncError("SYNC_ROLLBACK", "timestamp version " + ts.signed.version + " is older than the version " + oldTs.signed.version + " held");
      }
      if (ts.signed.version === oldTs.signed.version) ts = oldTs;
      else if (snapMeta(ts).version < snapMeta(oldTs).version) {
        throw new SyncError("SYNC_ROLLBACK", "the timestamp names a snapshot older than the one held");
      }
    }
    if (expired(ts, at)) throw new SyncError("SYNC_FROZEN", "the timestamp has expired: the source has stopped being updated");

    const wantSnap = snapMeta(ts).version;
    const oldSnap = await trustedOrNull(held && held.snapshot, "snapshot", rootMd);
    let snap = oldSnap && oldSnap.signed.version === wantSnap && !expired(oldSnap, at) ? oldSnap : null;
    if (!snap) {
      const bytes = await fetchBytes(base + wantSnap + ".snapshot.json", LIMITS.snapshot);
      await checkMeta(bytes, snapMeta(ts), "snapshot");
      snap = parse(bytes, "snapshot");
      await verifyDelegate(rootMd, "snapshot", snap);
      snap.bytes = bytes;
      if (oldSnap) {
        for (const [name, info] of Object.entries(oldSnap.signed.meta || {})) {
          const now = (snap.signed.meta || {})[name];
          if (!now) throw new SyncError("SYNC_INVALID", "the new snapshot lacks " + name);
          if (now.version < info.version) throw new SyncError("SYNC_ROLLBACK", "the snapshot offers " + name + " older than the one held");
        }
      }
      if (expired(snap, at)) throw new SyncError("SYNC_FROZEN", "the snapshot has expired");
      if (snap.signed.version !== wantSnap) throw new SyncError("SYNC_ROLLBACK", "the snapshot is not the version the timestamp names");
    }

    const tMeta = snap.signed.meta && snap.signed.meta["targets.json"];
    if (!tMeta || !Number.isSafeInteger(tMeta.version)) throw new SyncError("SYNC_INVALID", "snapshot names no targets");
    let targets = await trustedOrNull(held && held.targets, "targets", rootMd);
    if (!targets || targets.signed.version !== tMeta.version || expired(targets, at)) {
      const bytes = await fetchBytes(base + tMeta.version + ".targets.json", LIMITS.targets);
      await checkMeta(bytes, tMeta, "targets");
      targets = parse(bytes, "targets");
      await verifyDelegate(rootMd, "targets", targets);
      targets.bytes = bytes;
      if (targets.signed.version !== tMeta.version) throw new SyncError("SYNC_ROLLBACK", "targets is not the version the snapshot names");
      if (expired(targets, at)) throw new SyncError("SYNC_FROZEN", "the targets metadata has expired");
    }
    return { root: rootMd, timestamp: ts, snapshot: snap, targets };
  }

  // A target's bytes: reused from `cached` when its length and hash match, else downloaded from its
  // consistent-snapshot name and checked (more bytes than listed: SYNC_TOO_LARGE; else a mismatch).
  async function target(targetsBase, path, info, cached) {
    const hash = info && info.hashes && info.hashes.sha256;
    if (typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash) || !Number.isSafeInteger(info.length) || info.length > MAX_TARGET) {
      throw new SyncError("SYNC_INVALID", "target " + path + " has no usable length and SHA-256");
    }
    if (cached && cached.length === info.length && (await sha256Hex(cached)) === hash) return cached;
    const slash = path.lastIndexOf("/");
    const name = path.slice(0, slash + 1) + hash + "." + path.slice(slash + 1);
    const bytes = await fetchBytes(targetsBase + name, info.length);
    if (bytes.length !== info.length || (await sha256Hex(bytes)) !== hash) {
      throw new SyncError("SYNC_MIX_AND_MATCH", "target " + path + " is not the file the signed metadata lists (tampered, or mixed from another publication)");
    }
    return bytes;
  }

  root.PermitTuf = { SyncError, canonical, refresh, target, keySpki, equalBytes };
})(typeof self !== "undefined" ? self : globalThis);
