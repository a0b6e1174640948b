// A corpus of hostile and careless messages from the Runboard page, through the host's parseWebviewMessage: each row is
// refused with a reason that names the field, or accepted exactly as the row says (unknown fields dropped, defaults
// filled in). A page is code the host does not trust: what reaches a handler is only what the schemas let through.
import { describe, expect, it } from 'vitest';
import { parseWebviewMessage, protocolVersion } from './protocol';

const sessionId = '3f2a1c9e-0b9f-4c1d-8e2a-5d6f7a8b9c0d';
const runId = '9c1e2d3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f';

const request = (method: unknown, params: unknown, id: unknown = 1) => ({ kind: 'request', id, method, params });
const notify = (method: unknown, params: unknown) => ({ kind: 'notify', method, params });
const runParams = (extra: Record<string, unknown> = {}) => ({ session_id: sessionId, lane: 'A', intent: 'npm test', ...extra });
/** What a valid run request becomes: its defaults filled in. */
const runAccepted = (extra: Record<string, unknown> = {}) => request('run', { ...runParams(), run_with: { executor: 'shell' }, priority: 100, ...extra });

type Row = [name: string, raw: unknown, outcome: { reason: RegExp } | { accepted: unknown }];
const refused = (reason: RegExp) => ({ reason });
const accepted = (message: unknown) => ({ accepted: message });

const huge = Array.from({ length: 1_000_000 }, (_, i) => i);
const deep = (n: number): unknown => (n === 0 ? 'bottom' : { run_id: deep(n - 1) });
const withProto = JSON.parse(`{"run_id": "${runId}", "__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}`);
const inherited = Object.assign(Object.create({ kind: 'request', id: 1, method: 'openLog' }), { params: { run_id: runId } });

// prettier-ignore
const rows: Row[] = [
  // not a message at all
  ['null', null, refused(/^not a Runboard message \(kind missing\)$/)],
  ['undefined', undefined, refused(/^not a Runboard message \(kind missing\)$/)],
  ['a number', 42, refused(/^not a Runboard message \(kind missing\)$/)],
  ['NaN', NaN, refused(/^not a Runboard message \(kind missing\)$/)],
  ['a string', 'request', refused(/^not a Runboard message \(kind missing\)$/)],
  ['an array', [], refused(/^not a Runboard message \(kind missing\)$/)],
  ['an array of a message', [request('openLog', { run_id: runId })], refused(/^not a Runboard message \(kind missing\)$/)],
  ['an empty object', {}, refused(/^not a Runboard message \(kind missing\)$/)],
  ['a response sent the wrong way', { kind: 'response', id: 1, ok: true, result: {} }, refused(/^not a Runboard message \(kind "response"\)$/)],
  ['a kind in capitals', { ...request('openLog', { run_id: runId }), kind: 'REQUEST' }, refused(/^not a Runboard message \(kind "REQUEST"\)$/)],
  ['a kind with a space', { ...request('openLog', { run_id: runId }), kind: 'request ' }, refused(/^not a Runboard message \(kind "request "\)$/)],
  ['a kind in an array', { ...request('openLog', { run_id: runId }), kind: ['request'] }, refused(/^not a Runboard message \(kind \["request"\]\)$/)],
  ['a kind as a number', { kind: 1 }, refused(/^not a Runboard message \(kind 1\)$/)],
  ['a kind only inherited from a prototype', Object.create({ kind: 'request' }), refused(/^request: id: .*; method: .*/)],
  // a structured clone never has a prototype of its own; zod reads inherited fields, and what comes out has own fields only
  ['a whole message inherited from a prototype', inherited, accepted(request('openLog', { run_id: runId }))],
  // the envelope of a request
  ['an id as a string', request('openLog', { run_id: runId }, '1'), refused(/^request: id: Invalid input: expected number/)],
  ['a negative id', request('openLog', { run_id: runId }, -1), refused(/^request: id: Too small/)],
  ['a fractional id', request('openLog', { run_id: runId }, 1.5), refused(/^request: id: Invalid input: expected int/)],
  ['a NaN id', request('openLog', { run_id: runId }, NaN), refused(/^request: id: Invalid input: expected number, received NaN/)],
  ['an infinite id', request('openLog', { run_id: runId }, Infinity), refused(/^request: id: Invalid input: expected number, received Infinity/)],
  ['an id past the safe integers', request('openLog', { run_id: runId }, 2 ** 60), refused(/^request: id: /)],
  ['no id', { kind: 'request', method: 'openLog', params: { run_id: runId } }, refused(/^request: id: Invalid input: expected number, received undefined/)],
  ['a method as a number', request(7, { run_id: runId }), refused(/^request: method: Invalid input: expected string, received number/)],
  ['no method', { kind: 'request', id: 1, params: {} }, refused(/^request: method: Invalid input: expected string, received undefined/)],
  ['a method in an array', request(['openLog'], { run_id: runId }), refused(/^request: method: Invalid input: expected string/)],
  // methods that are not the protocol's, prototype names among them
  ['an unknown method', request('dropDatabase', {}), refused(/^unknown request "dropDatabase"$/)],
  ['an empty method', request('', {}), refused(/^unknown request ""$/)],
  ['__proto__ as a method', request('__proto__', {}), refused(/^unknown request "__proto__"$/)],
  ['constructor as a method', request('constructor', {}), refused(/^unknown request "constructor"$/)],
  ['toString as a method', request('toString', {}), refused(/^unknown request "toString"$/)],
  ['hasOwnProperty as a method', request('hasOwnProperty', {}), refused(/^unknown request "hasOwnProperty"$/)],
  ['a method in the wrong case', request('OpenLog', { run_id: runId }), refused(/^unknown request "OpenLog"$/)],
  ['a notification sent as a request', request('ready', { protocol: protocolVersion, session_id: null }), refused(/^unknown request "ready"$/)],
  ['a request sent as a notification', notify('cancelRun', { run_id: runId }), refused(/^unknown notification "cancelRun"$/)],
  ['a host notification sent by the page', notify('snapshot', {}), refused(/^unknown notification "snapshot"$/)],
  ['__proto__ as a notification', notify('__proto__', {}), refused(/^unknown notification "__proto__"$/)],
  ['constructor as a notification', notify('constructor', {}), refused(/^unknown notification "constructor"$/)],
  ['valueOf as a notification', notify('valueOf', {}), refused(/^unknown notification "valueOf"$/)],
  ['a notification without a method', { kind: 'notify', params: {} }, refused(/^notification: method: Invalid input: expected string, received undefined$/)],
  // params of the wrong shape
  // the envelope's own check: its wording is zod's ("expected nonoptional"), but it names the field
  ['no params', { kind: 'request', id: 1, method: 'openLog' }, refused(/^request: params: /)],
  ['null params', request('openLog', null), refused(/^request "openLog": params: Invalid input: expected object, received null$/)],
  ['params as an array', request('openLog', [runId]), refused(/^request "openLog": params: Invalid input: expected object, received array$/)],
  ['params as a string', request('openLog', runId), refused(/^request "openLog": params: Invalid input: expected object, received string$/)],
  ['a missing field', request('cancelRun', {}), refused(/^request "cancelRun": params\.run_id: Invalid input: expected string, received undefined$/)],
  ['an empty id field', request('cancelRun', { run_id: '' }), refused(/^request "cancelRun": params\.run_id: Too small/)],
  ['an id field as a number', request('retryRun', { run_id: 12 }), refused(/^request "retryRun": params\.run_id: Invalid input: expected string, received number$/)],
  ['an id field as an array', request('openDiff', { run_id: [runId] }), refused(/^request "openDiff": params\.run_id: Invalid input: expected string, received array$/)],
  ['an id field as an object with toString', request('applyDiff', { run_id: { toString: () => runId } }), refused(/^request "applyDiff": params\.run_id: Invalid input: expected string, received object$/)],
  ['nested junk 50 deep', request('openLog', deep(50)), refused(/^request "openLog": params\.run_id: Invalid input: expected string, received object$/)],
  ['copyText without text', request('copyText', { text: null }), refused(/^request "copyText": params\.text: Invalid input: expected string, received null$/)],
  ['selectSession with a number', request('selectSession', { session_id: 0 }), refused(/^request "selectSession": params\.session_id: Invalid input: expected string/)],
  // a run request: the same checks as the palette's and the CLI's
  ['run: a session that is not an id', request('run', runParams({ session_id: 'not-a-uuid' })), refused(/^request "run": params\.session_id: give the id of a session$/)],
  ['run: no session', request('run', { lane: 'A', intent: 'x' }), refused(/^request "run": params\.session_id: Invalid input: expected string/)],
  ['run: a lane with a space', request('run', runParams({ lane: 'A B' })), refused(/^request "run": params\.lane: a lane name is 1 to 16 letters/)],
  ['run: a lane with a slash', request('run', runParams({ lane: '../A' })), refused(/^request "run": params\.lane: a lane name is 1 to 16 letters/)],
  ['run: a lane of 500 characters', request('run', runParams({ lane: 'A'.repeat(500) })), refused(/^request "run": params\.lane: a lane name/)],
  ['run: a lane as an array of a million', request('run', runParams({ lane: huge })), refused(/^request "run": params\.lane: Invalid input: expected string, received array$/)],
  ['run: an empty intent', request('run', runParams({ intent: '' })), refused(/^request "run": params\.intent: a run needs an intent$/)],
  ['run: a blank intent', request('run', runParams({ intent: ' \n\t ' })), refused(/^request "run": params\.intent: a run needs an intent$/)],
  ['run: an intent of 1 MiB', request('run', runParams({ intent: 'x'.repeat(1 << 20) })), refused(/^request "run": params\.intent: an intent is at most 100,000 characters$/)],
  ['run: a NUL in the intent', request('run', runParams({ intent: 'echo a\u0000b' })), refused(/^request "run": params\.intent: a NUL character \(\\0\) cannot be stored; remove it$/)],
  ['run: a lone surrogate in the intent', request('run', runParams({ intent: 'echo \ud83d' })), refused(/^request "run": params\.intent: half of a UTF-16 surrogate pair is not text/)],
  ['run: an intent as a number', request('run', runParams({ intent: 42 })), refused(/^request "run": params\.intent: Invalid input: expected string, received number$/)],
  ['run: a NaN priority', request('run', runParams({ priority: NaN })), refused(/^request "run": params\.priority: Invalid input: expected number, received NaN$/)],
  ['run: an infinite priority', request('run', runParams({ priority: Infinity })), refused(/^request "run": params\.priority: Invalid input: expected number, received Infinity$/)],
  ['run: a -Infinity priority', request('run', runParams({ priority: -Infinity })), refused(/^request "run": params\.priority: Invalid input: expected number, received -Infinity$/)],
  ['run: a priority of 1e300', request('run', runParams({ priority: 1e300 })), refused(/^request "run": params\.priority: /)],
  ['run: a fractional priority', request('run', runParams({ priority: 0.5 })), refused(/^request "run": params\.priority: Invalid input: expected int/)],
  ['run: a priority as a string', request('run', runParams({ priority: '1' })), refused(/^request "run": params\.priority: Invalid input: expected number, received string$/)],
  ['run: a timeout of zero', request('run', runParams({ timeout_seconds: 0 })), refused(/^request "run": params\.timeout_seconds: Too small/)],
  ['run: a timeout of NaN', request('run', runParams({ timeout_seconds: NaN })), refused(/^request "run": params\.timeout_seconds: Invalid input: expected number, received NaN$/)],
  ['run: a timeout of a year', request('run', runParams({ timeout_seconds: 365 * 24 * 3600 })), refused(/^request "run": params\.timeout_seconds: Too big/)],
  ['run: the runbook executor', request('run', runParams({ run_with: { executor: 'runbook' } })), refused(/^request "run": params\.run_with\.executor: /)],
  ['run: an executor as a string', request('run', runParams({ run_with: 'shell' })), refused(/^request "run": params\.run_with: /)],
  ['run: no executor in run_with', request('run', runParams({ run_with: {} })), refused(/^request "run": params\.run_with\.executor: /)],
  ['run: a profile named __proto__', request('run', runParams({ run_with: { executor: 'agent', profile: '__proto__' } })), refused(/^request "run": params\.run_with\.profile: a profile name is 1 to 64/)],
  ['run: a profile that is a path', request('run', runParams({ run_with: { executor: 'agent', profile: '../../bin/sh' } })), refused(/^request "run": params\.run_with\.profile: a profile name/)],
  ['run: a profile as an object', request('run', runParams({ run_with: { executor: 'agent', profile: { name: 'claude' } } })), refused(/^request "run": params\.run_with\.profile: Invalid input: expected string, received object$/)],
  ['run: every field wrong at once, three named', request('run', { session_id: 1, lane: 2, intent: 3, priority: 'x' }), refused(/^request "run": params\.session_id: .*; params\.lane: .*; params\.intent: .* \(and 1 more\)$/)],
  // createSession
  ['createSession: no title', request('createSession', { intent: 'x' }), refused(/^request "createSession": params\.title: Invalid input: expected string, received undefined$/)],
  ['createSession: a blank title', request('createSession', { title: '   ' }), refused(/^request "createSession": params\.title: a session needs a title$/)],
  ['createSession: a title of 201 characters', request('createSession', { title: 't'.repeat(201) }), refused(/^request "createSession": params\.title: a title is at most 200 characters$/)],
  ['createSession: a title of 201 emoji', request('createSession', { title: '🚀'.repeat(201) }), refused(/^request "createSession": params\.title: a title is at most 200 characters$/)],
  ['createSession: a NUL in the title', request('createSession', { title: 'a\u0000b' }), refused(/^request "createSession": params\.title: a NUL character/)],
  ['createSession: a NUL in the intent', request('createSession', { title: 't', intent: '\u0000' }), refused(/^request "createSession": params\.intent: a NUL character/)],
  ['createSession: a lone low surrogate in the title', request('createSession', { title: 'x\udc00' }), refused(/^request "createSession": params\.title: half of a UTF-16 surrogate pair/)],
  ['createSession: an intent of 10,001 characters', request('createSession', { title: 't', intent: 'i'.repeat(10_001) }), refused(/^request "createSession": params\.intent: an intent is at most 10,000 characters$/)],
  ['createSession: a title as an array', request('createSession', { title: ['t'] }), refused(/^request "createSession": params\.title: Invalid input: expected string, received array$/)],
  // runbook runs: gates, artifacts, export, Run Runbook…
  ['approveRun: no run', request('approveRun', {}), refused(/^request "approveRun": params\.run_id: Invalid input: expected string, received undefined$/)],
  ['rejectRun: a reason smuggled in is dropped, the run is not', request('rejectRun', { reason: 'x' }), refused(/^request "rejectRun": params\.run_id: /)],
  ['openArtifact: no artifact', request('openArtifact', { run_id: runId }), refused(/^request "openArtifact": params\.artifact_id: Invalid input: expected string, received undefined$/)],
  ['exportLog: a format the host does not write', request('exportLog', { run_id: runId, format: 'pdf' }), refused(/^request "exportLog": params\.format: /)],
  ['exportLog: an empty step', request('exportLog', { run_id: runId, format: 'text', step: '' }), refused(/^request "exportLog": params\.step: Too small/)],
  ['runRunbook: a lane with a slash', request('runRunbook', { session_id: sessionId, lane: '../A' }), refused(/^request "runRunbook": params\.lane: a lane name is 1 to 16 letters/)],
  ['runRunbook: no session', request('runRunbook', { lane: 'A' }), refused(/^request "runRunbook": params\.session_id: /)],
  // notifications from the page
  ['ready: another protocol version', notify('ready', { protocol: protocolVersion + 1, session_id: null }), refused(/^notification "ready": params\.protocol: /)],
  ['ready: the version as a string', notify('ready', { protocol: String(protocolVersion), session_id: null }), refused(/^notification "ready": params\.protocol: /)],
  ['ready: no session_id', notify('ready', { protocol: protocolVersion }), refused(/^notification "ready": params\.session_id: /)],
  ['ready: an empty session_id', notify('ready', { protocol: protocolVersion, session_id: '' }), refused(/^notification "ready": params\.session_id: Too small/)],
  ['ready: a session_id of a million numbers', notify('ready', { protocol: protocolVersion, session_id: huge }), refused(/^notification "ready": params\.session_id: Invalid input: expected string, received array$/)],
  ['followLog: a negative seq', notify('followLog', { run_id: runId, after_seq: -1 }), refused(/^notification "followLog": params\.after_seq: Too small/)],
  ['followLog: a NaN seq', notify('followLog', { run_id: runId, after_seq: NaN }), refused(/^notification "followLog": params\.after_seq: Invalid input: expected number, received NaN$/)],
  ['followLog: an infinite seq', notify('followLog', { run_id: runId, after_seq: Infinity }), refused(/^notification "followLog": params\.after_seq: Invalid input: expected number, received Infinity$/)],
  ['followLog: a fractional seq', notify('followLog', { run_id: runId, after_seq: 1.5 }), refused(/^notification "followLog": params\.after_seq: Invalid input: expected int/)],
  ['followLog: a seq as a string', notify('followLog', { run_id: runId, after_seq: '5' }), refused(/^notification "followLog": params\.after_seq: Invalid input: expected number, received string$/)],
  ['unfollowLog: no run', notify('unfollowLog', {}), refused(/^notification "unfollowLog": params\.run_id: Invalid input: expected string, received undefined$/)],
  ['problem: a message as a number', notify('problem', { message: 404 }), refused(/^notification "problem": params\.message: Invalid input: expected string, received number$/)],
  ['problem: no message', notify('problem', null), refused(/^notification "problem": params: Invalid input: expected object, received null$/)],
  // accepted, exactly: defaults filled in, unknown fields dropped, prototype keys never reaching anything
  ['a run request with its defaults', request('run', runParams()), accepted(runAccepted())],
  ['a run request for an agent', request('run', runParams({ run_with: { executor: 'agent', profile: 'claude' }, priority: 10, timeout_seconds: 60 })), accepted(runAccepted({ run_with: { executor: 'agent', profile: 'claude' }, priority: 10, timeout_seconds: 60 }))],
  ['a profile called constructor is only a name', request('run', runParams({ run_with: { executor: 'agent', profile: 'constructor' } })), accepted(runAccepted({ run_with: { executor: 'agent', profile: 'constructor' } }))],
  ['the lowest priority there is', request('run', runParams({ priority: -1_000_000 })), accepted(runAccepted({ priority: -1_000_000 }))],
  ['an intent of exactly 100,000 characters', request('run', runParams({ intent: 'x'.repeat(100_000) })), accepted(runAccepted({ intent: 'x'.repeat(100_000) }))],
  ['an intent padded with spaces is trimmed', request('run', runParams({ intent: '  npm test  ' })), accepted(runAccepted())],
  ['an intent with SQL, quotes and $( )', request('run', runParams({ intent: "'); drop table ops.runs; -- $(touch pwned)" })), accepted(runAccepted({ intent: "'); drop table ops.runs; -- $(touch pwned)" }))],
  ['an intent with escapes, emoji and an RTL override', request('run', runParams({ intent: '\x1b]0;t\x07 🚀 e\u0301 \u202e' })), accepted(runAccepted({ intent: '\x1b]0;t\x07 🚀 e\u0301 \u202e' }))],
  ['unknown fields of a request are dropped', { ...request('openLog', { run_id: runId, extra: huge }), extra: 'x' }, accepted(request('openLog', { run_id: runId }))],
  ['__proto__ and constructor keys in params are dropped', request('cancelRun', withProto), accepted(request('cancelRun', { run_id: runId }))],
  ['a createSession request, extra fields dropped', request('createSession', { title: ' Fix tests ', intent: 'green', lanes: huge, repo_path: '/' }), accepted(request('createSession', { title: 'Fix tests', intent: 'green' }))],
  ['a title of 200 emoji is 200 characters, as the database counts them', request('createSession', { title: '🚀'.repeat(200) }), accepted(request('createSession', { title: '🚀'.repeat(200), intent: '' }))],
  ['a createSession request without an intent', request('createSession', { title: 'T' }), accepted(request('createSession', { title: 'T', intent: '' }))],
  ['copyText of 10 MiB', request('copyText', { text: 'c'.repeat(10 << 20) }), accepted(request('copyText', { text: 'c'.repeat(10 << 20) }))],
  ['copyText of a NUL: the clipboard is not the database', request('copyText', { text: 'a\u0000b' }), accepted(request('copyText', { text: 'a\u0000b' }))],
  ['the largest safe id', request('openLog', { run_id: runId }, Number.MAX_SAFE_INTEGER), accepted(request('openLog', { run_id: runId }, Number.MAX_SAFE_INTEGER))],
  ['exportLog of the whole log, the step defaulted', request('exportLog', { run_id: runId, format: 'json' }), accepted(request('exportLog', { run_id: runId, format: 'json', step: null }))],
  ['a rejectRun request carries no reason: the editor asks the person', request('rejectRun', { run_id: runId, reason: 'x' }), accepted(request('rejectRun', { run_id: runId }))],
  ['ready after a reload', notify('ready', { protocol: protocolVersion, session_id: sessionId }), accepted(notify('ready', { protocol: protocolVersion, session_id: sessionId }))],
  ['followLog from the start', notify('followLog', { run_id: runId, after_seq: 0 }), accepted(notify('followLog', { run_id: runId, after_seq: 0 }))],
  ['a problem with escapes in it', notify('problem', { message: '\x1b[31mboom' }), accepted(notify('problem', { message: '\x1b[31mboom' }))],
];

describe('parseWebviewMessage: the bad-input corpus', () => {
  it.each(rows)('%s', (_name, raw, outcome) => {
    const parsed = parseWebviewMessage(raw);
    if ('reason' in outcome) {
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.reason).toMatch(outcome.reason);
        expect(parsed.reason.length).toBeLessThan(600);
      }
    } else {
      expect(parsed).toEqual({ ok: true, message: outcome.accepted });
    }
    // nothing a message carried reached Object.prototype
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
