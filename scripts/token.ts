/**
 * Prints a signed bearer token for an account, so a newcomer can call the API at once:
 *   npm run token -- <account-id> [--admin] [--service] [--expires 12h]
 * Signs with JWT_SECRET (the development secret when unset); not usable when tokens come from a JWKS issuer.
 */
import 'dotenv/config';
import { Logger } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { Role } from '../src/auth/role.enum';
import { ACCOUNT_ID_PATTERN, signToken, tokenLifetimeSeconds } from '../src/auth/token.service';
import { DEVELOPMENT_JWT_SECRET, loadConfig } from '../src/config/app-config';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const accountId = args.find((arg, index) => !arg.startsWith('--') && args[index - 1] !== '--expires');
  if (!accountId || !ACCOUNT_ID_PATTERN.test(accountId)) {
    process.stderr.write('usage: npm run token -- <account-id> [--admin] [--service] [--expires 12h]\n');
    process.exit(2);
  }
  const roles = [
    ...(args.includes('--admin') ? [Role.ADMIN] : []),
    ...(args.includes('--service') ? [Role.SERVICE] : []),
  ];
  const expiresIndex = args.indexOf('--expires');
  Logger.overrideLogger(false); // stdout carries the token alone, so that TOKEN=$(npm run -s token -- ...) works
  const config = loadConfig();
  if (!config.JWT_SECRET) {
    process.stderr.write('JWT_SECRET is not set: tokens come from the JWKS issuer, which this helper cannot sign for.\n');
    process.exit(2);
  }
  if (config.JWT_SECRET === DEVELOPMENT_JWT_SECRET) {
    process.stderr.write('note: signed with the built-in development secret (JWT_SECRET is not set)\n');
  }
  const token = await signToken(config.JWT_SECRET, accountId, roles, {
    expiresIn: expiresIndex >= 0 ? args[expiresIndex + 1] : '12h',
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  if (tokenLifetimeSeconds(decodeJwt(token)) > config.JWT_MAX_LIFETIME_SECONDS) {
    process.stderr.write(
      `--expires is longer than JWT_MAX_LIFETIME_SECONDS (${config.JWT_MAX_LIFETIME_SECONDS} s): the service would refuse the token.\n`,
    );
    process.exit(2);
  }
  process.stdout.write(`${token}\n`);
}

void main();
