// The function's answers: `{ok: true, …}` or `{ok: false, error: {code, message}}` with a status that says which kind of
// failure it is, a one-line message, and bodies read only up to a limit.

export type ApiErrorCode =
  | 'invalid_input'
  | 'not_authenticated'
  | 'not_authorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'lease_lost'
  | 'invalid_state'
  | 'too_large'
  | 'db_unreachable'
  | 'internal';

const statusOf: Record<ApiErrorCode, number> = {
  invalid_input: 400,
  not_authenticated: 401,
  not_authorized: 403,
  not_found: 404,
  method_not_allowed: 405,
  lease_lost: 409,
  invalid_state: 409,
  too_large: 413,
  db_unreachable: 503,
  internal: 500,
};

/** A failure the caller is told about: its code, its HTTP status and one line for a person. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = statusOf[code];
  }
}

const jsonHeaders = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function ok(body: Record<string, unknown> = {}, status = 200): Response {
  return new Response(JSON.stringify({ ok: true, ...body }), { status, headers: jsonHeaders });
}

export function failure(e: ApiError): Response {
  return new Response(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } }), {
    status: e.status,
    headers: { ...jsonHeaders, ...e.headers },
  });
}

/**
 * The request's JSON body, read up to `limit` bytes: a declared length over it is refused before anything is read, and
 * a body that grows past it while streaming is cut off. An empty body is `{}`.
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!request.body) return {};
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (size === 0) return {};
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError('invalid_input', 'body: not UTF-8 text; send JSON');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('invalid_input', `body: not JSON (${(e as Error).message})`);
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError('too_large', `body: larger than this route takes (${formatBytes(limit)}); send smaller batches`);
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round(n / (1024 * 1024))} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}
