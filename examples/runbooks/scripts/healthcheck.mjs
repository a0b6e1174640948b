#!/usr/bin/env node
// HTTP checks for the healthcheck runbook: each URL is requested once (GET, redirects not followed) and its status
// compared with the one expected. One line per URL; exits 1 when any answered otherwise or not at all.
//
//   node healthcheck.mjs [URL=STATUS …]          (default: $OCR_INPUT_URLS)
//
// A check is URL=STATUS (200, 204…, or a class such as 2xx); a URL alone expects 2xx. Checks are separated by commas,
// spaces or new lines. The timeout of each request is $OCR_INPUT_TIMEOUT seconds (default 10). A report is written
// to $OCR_ARTIFACTS_DIR/healthcheck.txt when that is set (a runbook run keeps it as an artifact).
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const text = process.argv.slice(2).join(',') || process.env.OCR_INPUT_URLS || '';
const timeoutSeconds = Number(process.env.OCR_INPUT_TIMEOUT || 10);

function parseChecks(text) {
  const checks = [];
  for (const item of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(.*)=([1-5](?:\d\d|xx))$/i.exec(item);
    const url = m ? m[1] : item;
    const expect = m ? m[2].toLowerCase() : '2xx';
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`"${item}" is not a URL: give URL=STATUS, such as http://127.0.0.1:8080/health=200`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`"${item}": only http and https URLs are checked`);
    checks.push({ url, expect });
  }
  return checks;
}

const fits = (status, expect) => (expect.endsWith('xx') ? String(status)[0] === expect[0] : String(status) === expect);

async function check({ url, expect }) {
  const t0 = performance.now();
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutSeconds * 1000) });
    await response.body?.cancel();
    const ms = Math.round(performance.now() - t0);
    const ok = fits(response.status, expect);
    return { url, expect, status: response.status, ok, line: `${ok ? 'ok  ' : 'FAIL'} ${response.status} ${url}${ok ? '' : ` (expected ${expect})`} ${ms} ms` };
  } catch (e) {
    const why = e?.name === 'TimeoutError' ? `no answer within ${timeoutSeconds} s` : (e?.cause?.code ?? e?.cause?.errors?.[0]?.code ?? e?.cause?.message ?? e?.message ?? String(e));
    return { url, expect, status: null, ok: false, line: `FAIL ---  ${url} (expected ${expect}): ${why}` };
  }
}

let checks;
try {
  checks = parseChecks(text);
} catch (e) {
  console.error(`healthcheck: ${e.message}`);
  process.exit(2);
}
if (checks.length === 0) {
  console.error('healthcheck: no URLs to check: give the urls input, such as http://127.0.0.1:8080/health=200');
  process.exit(2);
}
if (!(timeoutSeconds > 0)) {
  console.error(`healthcheck: timeout "${process.env.OCR_INPUT_TIMEOUT}" is not a number of seconds`);
  process.exit(2);
}

const results = await Promise.all(checks.map(check));
for (const r of results) console.log(r.line);
const failed = results.filter((r) => !r.ok);
const summary = failed.length === 0
  ? `all ${results.length} URL(s) answered as expected`
  : `${failed.length} of ${results.length} URL(s) did not answer as expected: ${failed.map((r) => r.url).join(', ')}`;
console.log(summary);
if (process.env.OCR_ARTIFACTS_DIR) {
  writeFileSync(path.join(process.env.OCR_ARTIFACTS_DIR, 'healthcheck.txt'), [...results.map((r) => r.line), summary].join('\n') + '\n');
}
process.exit(failed.length === 0 ? 0 : 1);
