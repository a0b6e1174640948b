// Supabase edge function `ops-api`: the HTTPS API of Ops Control Room for workers holding a worker token and for people
// signed in with Supabase Auth. Deploy: `supabase functions deploy ops-api --no-verify-jwt` (worker tokens are not
// JWTs; the function verifies users' JWTs itself).
//
// Environment: SUPABASE_DB_URL (set by Supabase) or OCR_DATABASE_URL; OCR_JWT_SECRET or SUPABASE_JWT_SECRET (HS256),
// or OCR_JWKS_URL (else SUPABASE_URL's JWKS) to verify users; OCR_STREAM_SECONDS, how long one event stream lasts.
import { openDb } from './db.ts';
import { createHandler } from './handler.ts';

const env = (name: string): string | undefined => Deno.env.get(name) || undefined;
const log = (line: string) => console.log(line);

const databaseUrl = env('SUPABASE_DB_URL') ?? env('OCR_DATABASE_URL');
if (!databaseUrl) throw new Error('ops-api: set SUPABASE_DB_URL or OCR_DATABASE_URL to the database the migrations were pushed to');

const supabaseUrl = env('SUPABASE_URL');
const number = (name: string, fallback: number): number => {
  const value = Number(env(name) ?? fallback);
  if (!Number.isFinite(value) || value < 1) throw new Error(`ops-api: ${name} must be a number of at least 1`);
  return value;
};
const streamSeconds = number('OCR_STREAM_SECONDS', 120);

const handler = createHandler({
  db: openDb(databaseUrl, { max: number('OCR_DB_POOL_SIZE', 4), log }),
  auth: {
    jwtSecret: env('OCR_JWT_SECRET') ?? env('SUPABASE_JWT_SECRET'),
    jwksUrl: env('OCR_JWKS_URL') ?? (supabaseUrl ? `${supabaseUrl.replace(/\/+$/, '')}/auth/v1/.well-known/jwks.json` : undefined),
  },
  stream: { maxMs: streamSeconds * 1000 },
  log,
});

// On Supabase the runtime says where to listen; run by hand (and in tests), PORT and HOST do.
const port = env('PORT');
if (port) Deno.serve({ port: Number(port), hostname: env('HOST') ?? '127.0.0.1', onListen: ({ hostname, port }) => log(`ops-api listening on ${hostname}:${port}`) }, handler);
else Deno.serve(handler);
