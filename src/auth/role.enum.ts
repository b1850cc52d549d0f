export enum Role {
  /** Grants, adjustments and any account's data. */
  ADMIN = 'admin',
  /** Server-to-server metering for any account. */
  SERVICE = 'service',
}

export interface AuthenticatedAccount {
  /** The JWT `sub`: the account's id. */
  id: string;
  roles: Role[];
}

export function hasRole(account: AuthenticatedAccount, ...roles: Role[]): boolean {
  return roles.some((role) => account.roles.includes(role));
}
