// Who is calling: a worker with a worker token (`ocrw_…`, checked by the database on every call, so a revoked token
// stops its worker's next call), or a person with the JWT Supabase Auth gave them (verified here with the project's JWT
// secret or its JWKS). Tokens and JWTs are never logged or echoed.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { ApiError } from './http.ts';

export interface AuthConfig {
  /** the project's JWT secret (HS256): OCR_JWT_SECRET or SUPABASE_JWT_SECRET */
  jwtSecret?: string;
  /** the project's JWKS (asymmetric keys): OCR_JWKS_URL, else SUPABASE_URL's /auth/v1/.well-known/jwks.json */
  jwksUrl?: string;
}

/** A signed-in person, as the JWT says. */
export interface User {
  id: string;
  /** the claims as they came, for `request.jwt.claims` */
  claims: Record<string, unknown>;
}

const workerTokenPattern = /^ocrw_[A-Za-z0-9_-]{16,200}$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The bearer credential of a request, or a 401 that says what to send. */
export function bearer(request: Request): string {
  const header = request.headers.get('authorization') ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new ApiError('not_authenticated', 'Authorization: send "Bearer <worker token>" (workers) or "Bearer <access token>" (signed-in users)', { 'www-authenticate': 'Bearer' });
  return m[1]!;
}

export const isWorkerToken = (credential: string): boolean => credential.startsWith('ocrw_');

/** The worker token of a request to a worker route. Whether it is valid and not revoked, the database says. */
export function workerToken(request: Request): string {
  const credential = bearer(request);
  if (!isWorkerToken(credential)) {
    throw new ApiError('not_authenticated', 'worker routes take a worker token (ocrw_…); create one with `ocr token create --name NAME`', { 'www-authenticate': 'Bearer' });
  }
  if (!workerTokenPattern.test(credential)) throw new ApiError('not_authenticated', 'the worker token is malformed; copy it again from `ocr token create`', { 'www-authenticate': 'Bearer' });
  return credential;
}

export class UserVerifier {
  private readonly secret: Uint8Array | undefined;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(config: AuthConfig) {
    this.secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : undefined;
    this.jwks = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : undefined;
    if (!this.secret && !this.jwks) {
      throw new Error('no way to verify users: set OCR_JWT_SECRET (or SUPABASE_JWT_SECRET) or OCR_JWKS_URL (or SUPABASE_URL)');
    }
  }

  /** The person a request to an editor route comes from, or a 401 naming what is wrong with the credential. */
  async user(request: Request): Promise<User> {
    const credential = bearer(request);
    if (isWorkerToken(credential)) throw new ApiError('not_authorized', 'a worker token may only call worker routes; sign in to use sessions and runs');
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential)) {
      throw new ApiError('not_authenticated', 'the access token was refused: it is not a JWT; sign in again', { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    let payload: JWTPayload;
    try {
      const alg = decodeProtectedHeader(credential).alg;
      if (alg === 'HS256') {
        if (!this.secret) throw new Error('HS256 tokens are not accepted: the function verifies with the JWKS');
        ({ payload } = await jwtVerify(credential, this.secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] }));
      } else {
        if (!this.jwks) throw new Error(`${alg ?? 'unsigned'} tokens are not accepted: the function verifies with the JWT secret`);
        ({ payload } = await jwtVerify(credential, this.jwks, { requiredClaims: ['exp', 'sub'] }));
      }
    } catch (e) {
      throw new ApiError('not_authenticated', `the access token was refused: ${reason(e)}; sign in again`, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (payload.role !== 'authenticated') {
      throw new ApiError('not_authenticated', `the access token is of role ${JSON.stringify(payload.role ?? null)}, not a signed-in user's; sign in (the anon key is not enough)`);
    }
    if (typeof payload.sub !== 'string' || !uuid.test(payload.sub)) throw new ApiError('not_authenticated', 'the access token names no user (sub); sign in again');
    return { id: payload.sub, claims: { ...payload } };
  }
}

/** Why jose refused a token, in a few words and without the token. */
function reason(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'ERR_JWT_EXPIRED') return 'it has expired';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'its signature does not match the project\'s key';
  if (code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID' || code === 'ERR_INVALID') return 'it is not a JWT';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return (e as Error).message;
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0]!.slice(0, 200);
}
