import { Inject, Injectable } from '@nestjs/common';
import { createRemoteJWKSet, JWTPayload, jwtVerify, JWTVerifyGetKey, SignJWT } from 'jose';
import { AppConfig } from '../config/app-config';
import { AuthErrorCode, AuthException } from './auth.exception';
import { AuthenticatedAccount, Role } from './role.enum';

/** Account ids are the identity provider's subject: bounded, printable, no spaces. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9._@:|+-]{1,128}$/;

const KNOWN_ROLES = new Set<string>(Object.values(Role));

/** Verified tokens remembered per instance; past this many the memory starts afresh. */
const VERIFIED_TOKENS_LIMIT = 10_000;

/**
 * Verifies bearer tokens: HS256 with JWT_SECRET, or keys from JWT_JWKS_URL. A token that verified is remembered
 * until it expires, so a client sending the same token with every request pays for its signature once.
 */
@Injectable()
export class TokenService {
  private readonly secret?: Uint8Array;
  private readonly jwks?: JWTVerifyGetKey;
  private readonly verified = new Map<string, { account: AuthenticatedAccount; expiresAtMs: number }>();

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {
    if (config.JWT_JWKS_URL) this.jwks = createRemoteJWKSet(new URL(config.JWT_JWKS_URL));
    if (config.JWT_SECRET) this.secret = new TextEncoder().encode(config.JWT_SECRET);
  }

  async verify(token: string): Promise<AuthenticatedAccount> {
    const known = this.verified.get(token);
    if (known && known.expiresAtMs > Date.now()) return known.account;
    if (known) this.verified.delete(token);
    const { account, payload } = await this.verifySignature(token);
    if (this.verified.size >= VERIFIED_TOKENS_LIMIT) this.verified.clear();
    this.verified.set(token, { account, expiresAtMs: payload.exp! * 1000 });
    return account;
  }

  private async verifySignature(token: string): Promise<{ account: AuthenticatedAccount; payload: JWTPayload }> {
    let payload: JWTPayload;
    try {
      const options = {
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
        requiredClaims: ['exp'],
      };
      payload = this.jwks
        ? (await jwtVerify(token, this.jwks, options)).payload
        : (await jwtVerify(token, this.secret!, { ...options, algorithms: ['HS256'] })).payload;
    } catch {
      throw new AuthException(AuthErrorCode.UNAUTHENTICATED, 'The bearer token is invalid or expired.');
    }
    if (tokenLifetimeSeconds(payload) > this.config.JWT_MAX_LIFETIME_SECONDS) {
      throw new AuthException(
        AuthErrorCode.UNAUTHENTICATED,
        `The bearer token lives longer than this service accepts (${this.config.JWT_MAX_LIFETIME_SECONDS} seconds).`,
      );
    }
    if (typeof payload.sub !== 'string' || !ACCOUNT_ID_PATTERN.test(payload.sub)) {
      throw new AuthException(AuthErrorCode.UNAUTHENTICATED, 'The token has no valid subject (account id).');
    }
    const claimed = Array.isArray(payload.roles) ? payload.roles : [];
    const roles = claimed.filter((role): role is Role => typeof role === 'string' && KNOWN_ROLES.has(role));
    return { account: { id: payload.sub, roles }, payload };
  }
}

/**
 * How long a verified token lives: from its `iat` to its `exp`, or from now when it has no `iat` (a token whose
 * `iat` lies in the future counts from now too, so a made-up issue date cannot hide a long lifetime).
 */
export function tokenLifetimeSeconds(payload: JWTPayload, nowSeconds = Math.floor(Date.now() / 1000)): number {
  const issuedAt = typeof payload.iat === 'number' ? Math.min(payload.iat, nowSeconds) : nowSeconds;
  return (payload.exp ?? Infinity) - issuedAt;
}

/** Signs an HS256 token: the development helper and the tests use it. */
export function signToken(
  secret: string,
  accountId: string,
  roles: Role[] = [],
  options: { expiresIn?: string | number; issuer?: string; audience?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(accountId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h');
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
