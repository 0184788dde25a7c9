// Runs every vector of docs/test-vectors/vectors.json against verifier.mjs and prints one line each.
import fs from 'node:fs';
import path from 'node:path';
import { loadTrustList, loadStatusList, check } from './verifier.mjs';

const KIT = process.argv[2] || path.join(path.dirname(new URL(import.meta.url).pathname), '../../../docs/test-vectors');
const kit = JSON.parse(fs.readFileSync(path.join(KIT, 'vectors.json'), 'utf8'));
const file = (name) => fs.readFileSync(path.join(KIT, name));
let pass = 0, total = 0;
const report = (ok, name, expected, got, extra = '') => {
  total++; if (ok) pass++;
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}  expected ${expected}  got ${got}${extra}`);
};

// Loads a trust list (and optionally one held before it); returns {trust, reason}.
function loadTrust(root, trustFile, at, currentFile = null) {
  let current = null;
  if (currentFile) {
    const r = loadTrustList(file(currentFile), file(root), at);
    if (!r.ok) throw new Error(`cannot load current trust list ${currentFile}: ${r.reason} ${r.detail}`);
    current = r.trust;
  }
  return loadTrustList(file(trustFile), file(root), at, current);
}

// Compares the decoded permit with the kit's, field by field and in the kit's order.
function comparePermit(expected, got) {
  if (expected === null || got === null) return expected === got ? '' : `permit expected ${JSON.stringify(expected)} got ${JSON.stringify(got)}`;
  const diffs = [];
  for (const k of new Set([...Object.keys(expected), ...Object.keys(got)]))
    if (JSON.stringify(expected[k]) !== JSON.stringify(got[k])) diffs.push(`${k}: expected ${JSON.stringify(expected[k])} got ${JSON.stringify(got[k])}`);
  if (!diffs.length && JSON.stringify(Object.keys(expected)) !== JSON.stringify(Object.keys(got))) diffs.push('field order differs');
  return diffs.join('; ');
}

for (const v of kit.permit_vectors) {
  let trust = null, statusLists = new Map();
  const notes = [];
  if (v.load && v.load.trust_list) {
    const r = loadTrust(v.load.root, v.load.trust_list, v.load.at_epoch);
    if (r.ok) trust = r.trust; else notes.push(`trust list refused: ${r.reason} ${r.detail}`);
    for (const [id, f] of Object.entries(v.load.status_lists ?? {})) {
      const s = loadStatusList(file(f), trust, Number(id), v.load.at_epoch);
      if (s.ok) statusLists.set(Number(id), s.list); else notes.push(`status list ${id} refused: ${s.reason} ${s.detail}`);
    }
  }
  const got = check(v.payload, trust, statusLists, v.at_epoch);
  const exp = v.expected;
  const permitDiff = comparePermit(exp.permit, got.permit);
  const ok = got.verdict === exp.verdict && got.reason === exp.reason && permitDiff === '';
  report(ok, v.name, `${exp.verdict}/${exp.reason} permit=${exp.permit ? 'fields' : 'null'}`,
    `${got.verdict}/${got.reason} permit=${got.permit ? (permitDiff ? 'DIFFERENT' : 'same fields') : 'null'}`,
    (permitDiff ? `  [${permitDiff}]` : '') + (notes.length ? `  (${notes.join('; ')})` : ''));
}

for (const v of kit.trust_list_vectors) {
  const r = loadTrust(v.root, v.trust_list, v.at_epoch, v.current);
  report(r.reason === v.expected, v.name, v.expected, r.reason, r.detail ? `  (${r.detail})` : '');
}

for (const v of kit.status_list_vectors) {
  const t = loadTrust(v.root, v.trust_list, v.at_epoch);
  if (!t.ok) { report(false, v.name, v.expected, `trust list refused: ${t.reason}`); continue; }
  const r = loadStatusList(file(v.status_list), t.trust, v.id, v.at_epoch);
  report(r.reason === v.expected, v.name, v.expected, r.reason, r.detail ? `  (${r.detail})` : '');
}

console.log(`${pass}/${total} vectors pass`);
process.exitCode = pass === total ? 0 : 1;
