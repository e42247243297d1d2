// GraphQL over HTTP conformance audit of a running accountflow server.
//
//   cd bench/audit && npm install            (once; node_modules is not committed)
//   node bench/http_audit.mjs http://127.0.0.1:8000/graphql "$TOKEN"
//
// Starts nothing: audits the URL given, sending the bearer token (argument or
// ACCOUNTFLOW_TOKEN) with every request of graphql-http's auditServer. Prints every
// audit that did not pass and the totals by MUST / SHOULD / MAY; exits 1 when a MUST
// or SHOULD fails.
import { createRequire } from 'node:module';

const require = createRequire(new URL('./audit/package.json', import.meta.url));
const { auditServer } = require('graphql-http');

const url = process.argv[2] ?? process.env.GRAPHQL_URL ?? 'http://127.0.0.1:8000/graphql';
const token = process.argv[3] ?? process.env.ACCOUNTFLOW_TOKEN;
if (!token) {
  console.error('usage: node bench/http_audit.mjs URL TOKEN (or ACCOUNTFLOW_TOKEN)');
  process.exit(2);
}

// auditServer calls fetchFn(url, init) with its own headers: add ours to each request.
function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn });
const level = (r) => r.name.split(' ')[0];
const totals = {};
for (const r of results) {
  const t = (totals[level(r)] ??= { ok: 0, notice: 0, warn: 0, error: 0 });
  t[r.status] += 1;
  if (r.status !== 'ok') {
    let detail = '';
    try {
      const res = r.response;
      detail = res ? ` [${res.status} ${res.headers.get('content-type') ?? ''}]` : '';
    } catch {}
    console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}${detail}`);
  }
}
const passed = results.filter((r) => r.status === 'ok').length;
console.log(`${passed} of ${results.length} audits pass`);
for (const [name, t] of Object.entries(totals)) {
  console.log(`  ${name}: ${t.ok} ok, ${t.error + t.warn + t.notice} not ok`);
}
const failing = results.filter((r) => r.status !== 'ok' && /^(MUST|SHOULD)/.test(r.name));
process.exit(failing.length ? 1 : 0);
