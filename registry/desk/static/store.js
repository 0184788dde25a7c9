"use strict";
// What the desk holds: the last trusted TUF metadata (for rollback refusal), the trust list and status
// lists, and what vouched for them - one IndexedDB record written in one transaction after a whole sync
// succeeded (a refused or interrupted sync leaves the previous record as it was), as verifier/sync.py does.
(function (root) {
  const { Refusal, trustList, statusList } = root.PermitVerify;
  const { SyncError, refresh, target, keySpki } = root.PermitTuf;
  const DB = "permit-desk", STORE = "trust", KEY = "current";
  const STATUS_TARGET = /^status\/([1-9][0-9]{0,8})\.cwt$/;
  const MAX_STATUS_LISTS = 10000;

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  async function run(mode, body) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = body(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = tx.onabort = () => reject(tx.error);
      });
    } finally { db.close(); }
  }
  const read = () => run("readonly", (s) => s.get(KEY));
  const write = (record) => run("readwrite", (s) => s.put(record, KEY));
  const clear = () => run("readwrite", (s) => s.delete(KEY));

  const epoch = (text) => { const t = Date.parse(text); return Number.isNaN(t) ? null : Math.floor(t / 1000); };

  // The held record as a check needs it: the trust list re-verified with the keys that vouched for it
  // (its expiry is judged by each check), and every status list that still verifies against it.
  async function held(record) {
    record = record === undefined ? await read() : record;
    if (!record) return null;
    let trust = null;
    try { trust = await trustList(record.trust, record.trustKeys, 0, null); } catch (e) { return null; }
    const lists = new Map();
    for (const [id, bytes] of Object.entries(record.lists)) {
      try { lists.set(Number(id), await statusList(bytes, trust, Number(id))); } catch (e) { /* left out: STATUS_UNKNOWN */ }
    }
    return { trust, lists, vouchedAt: record.info.timestamp_issued, vouchExpires: record.info.timestamp_expires, info: record.info };
  }

  // One sync from `base` (the published directory, ending in /) at `at` (epoch seconds).
  async function sync(base, at) {
    const previous = await read();
    const current = previous ? await held(previous) : null;
    const tuf = await refresh(base + "metadata/", at, previous || null);
    const listed = tuf.targets.signed.targets || {};
    const paths = Object.keys(listed);
    const statusPaths = paths.filter((p) => STATUS_TARGET.test(p));
    if (statusPaths.length > MAX_STATUS_LISTS) throw new SyncError("SYNC_TOO_LARGE", "more than " + MAX_STATUS_LISTS + " status lists");
    if (!paths.includes("trust-list.cwt")) throw new SyncError("SYNC_INVALID", "the source publishes no trust list");
    const targetsRole = tuf.root.signed.roles.targets;
    const trustKeys = (targetsRole ? targetsRole.keyids : []).map((k) => keySpki(tuf.root.signed.keys[k])).filter(Boolean).map((k) => k.spki);
    const targetsBase = base + "targets/";
    const trustBytes = await target(targetsBase, "trust-list.cwt", listed["trust-list.cwt"], previous && previous.trust);
    const lists = {};
    for (const path of statusPaths) {
      const id = STATUS_TARGET.exec(path)[1];
      lists[id] = await target(targetsBase, path, listed[path], previous && previous.lists[id]);
    }
    const trust = await trustList(trustBytes, trustKeys, at, current && current.trust);
    for (const [id, bytes] of Object.entries(lists)) {
      const signed = await statusList(bytes, trust, Number(id));
      if (at >= signed.expiresAt) throw new Refusal("STATUS_LIST_EXPIRED", "status list " + id + " has expired");
      const before = current && current.lists.get(Number(id));
      if (before && signed.issuedAt < before.issuedAt) throw new Refusal("STATUS_LIST_ROLLBACK", "status list " + id + " is older than the one held");
    }
    const issued = epoch(tuf.timestamp.signed.issued);
    const info = {
      last_sync: at,
      root_version: tuf.root.signed.version,
      timestamp_version: tuf.timestamp.signed.version,
      timestamp_issued: issued === null ? null : Math.min(issued, at), // never later than the sync that received it
      timestamp_expires: tuf.timestamp.expiresAt,
      targets_version: tuf.targets.signed.version,
      trust_list_version: trust.version,
      trust_list_issued_at: trust.issuedAt,
      status_lists: Object.keys(lists).length,
    };
    await write({ root: tuf.root.bytes, timestamp: tuf.timestamp.bytes, snapshot: tuf.snapshot.bytes, targets: tuf.targets.bytes,
      trust: trustBytes, lists, trustKeys, info });
    return info;
  }

  root.PermitStore = { sync, held, clear, read };
})(typeof self !== "undefined" ? self : globalThis);
