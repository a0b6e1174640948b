// The ops-api function as one fetch handler: routes under `…/ops-api/`, worker routes under `worker/`, the others for
// signed-in users; JSON answers, one log line per request (method, route, status, time — never a credential).
import { UserVerifier, type AuthConfig } from './auth.ts';
import type { Db } from './db.ts';
import { handleEditorRoute } from './editor-routes.ts';
import { handleMoreEditorRoutes } from './editor-more-routes.ts';
import { defaultStreamOptions, type StreamOptions } from './event-stream.ts';
import { ApiError, failure, ok } from './http.ts';
import { handleWorkerRoute, type Limits } from './worker-routes.ts';

export interface HandlerOptions {
  db: Db;
  auth: AuthConfig;
  limits?: Partial<Limits>;
  stream?: Partial<StreamOptions>;
  log?: (line: string) => void;
}

export const defaultLimits: Limits = { bulkBytes: 4 * 1024 * 1024, bodyBytes: 64 * 1024 };

const cors = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type, last-event-id',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
};

/** The path after the function's name: `/functions/v1/ops-api/runs/1` and `/ops-api/runs/1` are both `runs/1`. */
export function routeOf(pathname: string): string[] {
  const segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const at = segments.indexOf('ops-api');
  return at === -1 ? segments : segments.slice(at + 1);
}

export function createHandler(options: HandlerOptions): (request: Request) => Promise<Response> {
  const log = options.log ?? (() => undefined);
  const limits: Limits = { ...defaultLimits, ...options.limits };
  const stream: StreamOptions = { ...defaultStreamOptions, ...options.stream };
  let verifier: UserVerifier | undefined;
  const users = () => (verifier ??= new UserVerifier(options.auth));

  return async (request) => {
    const started = Date.now();
    const url = new URL(request.url);
    let segments: string[] = [];
    let response: Response;
    try {
      segments = routeOf(url.pathname);
      if (request.method === 'OPTIONS') response = new Response(null, { status: 204, headers: cors });
      else if (segments.length === 0) response = ok({ name: 'ops-api', routes: ['worker/…', 'sessions', 'runs', 'runs/:id/events?after=SEQ'] });
      else if (segments[0] === 'worker') response = await handleWorkerRoute(options.db, limits, segments.slice(1).join('/'), request);
      else {
        let verified: Awaited<ReturnType<UserVerifier['user']>>;
        try {
          verified = await users().user(request);
        } catch (e) {
          if (e instanceof ApiError) throw e;
          log(`cannot verify users: ${(e as Error).message}`);
          throw new ApiError('internal', 'the function cannot verify access tokens: set OCR_JWT_SECRET or SUPABASE_JWT_SECRET (or OCR_JWKS_URL) as its secret');
        }
        const editor = { db: options.db, user: verified, request, url, bodyBytes: limits.bodyBytes, stream, log };
        const answer = (await handleEditorRoute(editor, segments)) ?? (await handleMoreEditorRoutes(editor, segments));
        if (!answer) throw new ApiError('not_found', `no route ${request.method} /${segments.join('/')}`);
        response = answer;
      }
    } catch (e) {
      if (e instanceof ApiError) response = failure(e);
      else {
        log(`${request.method} /${segments.join('/')} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
        response = failure(new ApiError('internal', 'the function failed; see its logs'));
      }
    }
    for (const [k, v] of Object.entries(cors)) if (!response.headers.has(k)) response.headers.set(k, v);
    log(`${request.method} /${redactRoute(segments)} ${response.status} ${Date.now() - started} ms`);
    return response;
  };
}

/** A route as logged: ids and names kept, nothing that could be a credential. */
function redactRoute(segments: string[]): string {
  return segments.map((s) => (s.length > 64 || s.startsWith('ocrw_') ? '…' : s)).join('/');
}
