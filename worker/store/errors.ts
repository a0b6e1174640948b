// Named errors with a stable `code`, so callers (CLI, extension, worker) can react without parsing messages.
import type { z } from 'zod';

export type OcrErrorCode =
  | 'lease_lost'
  | 'not_found'
  | 'invalid_input'
  | 'invalid_state'
  | 'db_unreachable'
  | 'embedded_db_failed'
  | 'migration_failed'
  // the caller is not the worker it names, or its role may not do this
  | 'not_authorized'
  // raised by the worker engine
  | 'agent_missing'
  | 'repo_unavailable'
  | 'git_failed'
  | 'workspace_failed'
  // raised by the editor's diff and log views
  | 'diff_unavailable'
  | 'patch_conflict';

export class OcrError extends Error {
  constructor(
    readonly code: OcrErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OcrError';
  }

  /** One line for a person: the problem, then what to do about it. */
  get line(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export class LeaseLostError extends OcrError {
  constructor(message: string, hint?: string) {
    super('lease_lost', message, hint);
    this.name = 'LeaseLostError';
  }
}

const sqlStateCodes: Record<string, OcrErrorCode> = {
  OC001: 'lease_lost',
  OC002: 'not_found',
  OC003: 'invalid_input',
  OC004: 'invalid_state',
  OC005: 'not_authorized',
};

interface PgErrorLike {
  code?: string;
  message: string;
  hint?: string;
}

function isPgError(e: unknown): e is PgErrorLike {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}

/** Turns the queue's own SQL errors (SQLSTATE OC0xx) into named errors; anything else passes through. */
export function fromDatabaseError(e: unknown): unknown {
  if (!isPgError(e) || !e.code) return e;
  if (e.code === '42501') {
    return new OcrError('not_authorized', e.message,
      'the login role needs ocr_client (to use sessions and runs) or ocr_worker (to run a worker): ask whoever runs the database');
  }
  const code = sqlStateCodes[e.code];
  if (!code) return e;
  const hint = e.hint || undefined;
  return code === 'lease_lost' ? new LeaseLostError(e.message, hint) : new OcrError(code, e.message, hint);
}

// ENOENT: the unix socket of an embedded server that is gone
const unreachableCodes = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', '28P01', '28000', '3D000']);

export function isUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: string }).code;
  if (code && unreachableCodes.has(code)) return true;
  return /timeout expired|Connection terminated|connect ECONNREFUSED/i.test(e.message);
}

// The server shutting down or restarting (57P01-57P03), a connection broken mid-statement (08xxx, EPIPE), a deadlock
// the server broke (40P01): the same statement may succeed a moment later on a new connection.
const transientSqlStates = /^(57P0[123]|08...|40P01)$/;

/** An error that says the database was away for a moment, not that the request was wrong: worth trying again. */
export function isTransient(e: unknown): boolean {
  if (e instanceof OcrError) return e.code === 'db_unreachable' || isTransient(e.cause);
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: string }).code;
  if (code && (code === 'EPIPE' || transientSqlStates.test(code))) return true;
  return isUnreachable(e) || /terminating connection|the database system is (shutting down|starting up|in recovery mode)/i.test(e.message);
}

/** `input` checked against `schema`, or an invalid_input error that names the first wrong field and what it needs. */
export function parseInput<T extends z.ZodTypeAny>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || 'input';
  throw new OcrError('invalid_input', `${field}: ${issue.message}`);
}
