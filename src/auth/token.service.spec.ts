import { loadConfig } from '../config/app-config';
import { AuthException } from './auth.exception';
import { Role } from './role.enum';
import { signToken, TokenService } from './token.service';

const SECRET = 'a-secret-for-token-specs-of-32-characters';

describe('TokenService', () => {
  const tokens = new TokenService(loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET }));

  it('answers the account and its known roles, and the same again for the same token', async () => {
    const token = await signToken(SECRET, 'acct-1', [Role.SERVICE]);
    await expect(tokens.verify(token)).resolves.toEqual({ id: 'acct-1', roles: [Role.SERVICE] });
    await expect(tokens.verify(token)).resolves.toEqual({ id: 'acct-1', roles: [Role.SERVICE] });
  });

  it('refuses a remembered token once it has expired', async () => {
    const token = await signToken(SECRET, 'acct-2', [], { expiresIn: '1s' });
    await expect(tokens.verify(token)).resolves.toMatchObject({ id: 'acct-2' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(AuthException);
  });

  it('never takes a token for one it remembers: a changed signature is verified, and refused', async () => {
    const token = await signToken(SECRET, 'acct-3');
    await tokens.verify(token);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(tokens.verify(forged)).rejects.toBeInstanceOf(AuthException);
    const otherSecret = await signToken('another-secret-of-at-least-32-characters', 'acct-3');
    await expect(tokens.verify(otherSecret)).rejects.toBeInstanceOf(AuthException);
  });
});
