/**
 * Prints a signed bearer token for an account, so a newcomer can call the API at once:
 *   npm run token -- <account-id> [--admin] [--service] [--expires 12h]
 * Signs with JWT_SECRET (the development secret when unset); not usable when tokens come from a JWKS issuer.
 */
import 'dotenv/config';
import { Logger } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { Role } from '../src/auth/role.enum';
import { signToken, tokenLifetimeSeconds } from '../src/auth/token.service';
import { DEVELOPMENT_JWT_SECRET, loadConfig } from '../src/config/app-config';
import { accountIdArgument, runScript, UsageError } from './cli';

runScript(
  {
    name: 'token',
    usage: 'npm run token -- <account-id> [--admin] [--service] [--expires <duration>]',
    options: { admin: { type: 'boolean' }, service: { type: 'boolean' }, expires: { type: 'string', default: '12h' } },
    positionals: 1,
    help: `
Prints a bearer token for the account, signed with JWT_SECRET (the built-in development secret when unset), alone on
stdout: TOKEN=$(npm run -s token -- alice). The first request with it creates the account.

  --admin                 with the admin role (any account, grants, metrics)
  --service               with the service role (metering for any account)
  --expires <duration>    lifetime, such as 30m, 12h or 1d (default 12h); at most JWT_MAX_LIFETIME_SECONDS
  --help, -h              this text

Exit codes: 0 printed, 2 bad usage or configuration (JWT_JWKS_URL without JWT_SECRET among it: tokens then come
from that issuer, which this helper cannot sign for).`,
  },
  async ({ values, positionals: [account] }) => {
    if (account === undefined) throw new UsageError('an account id is required');
    const accountId = accountIdArgument(account);
    const roles = [...(values.admin ? [Role.ADMIN] : []), ...(values.service ? [Role.SERVICE] : [])];
    Logger.overrideLogger(false); // stdout carries the token alone, so that TOKEN=$(npm run -s token -- ...) works
    const config = loadConfig();
    if (!config.JWT_SECRET) {
      throw new UsageError('JWT_SECRET is not set: tokens come from the JWKS issuer, which this helper cannot sign for');
    }
    let token: string;
    try {
      token = await signToken(config.JWT_SECRET, accountId, roles, {
        expiresIn: values.expires,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      });
    } catch (error) {
      // jose's answer to a lifetime it cannot read
      if (!(error instanceof TypeError)) throw error;
      throw new UsageError(`--expires "${values.expires}" is not a duration such as 30m, 12h or 1d`);
    }
    const lifetime = tokenLifetimeSeconds(decodeJwt(token));
    if (lifetime <= 0) throw new UsageError(`--expires "${values.expires}" is not a positive duration`);
    if (lifetime > config.JWT_MAX_LIFETIME_SECONDS) {
      throw new UsageError(
        `--expires "${values.expires}" is longer than JWT_MAX_LIFETIME_SECONDS ` +
          `(${config.JWT_MAX_LIFETIME_SECONDS} s): the service would refuse the token`,
      );
    }
    if (config.JWT_SECRET === DEVELOPMENT_JWT_SECRET) {
      process.stderr.write('note: signed with the built-in development secret (JWT_SECRET is not set)\n');
    }
    process.stdout.write(`${token}\n`);
  },
);
