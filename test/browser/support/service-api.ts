import { Role } from '../../../src/auth/role.enum';
import { signToken } from '../../../src/auth/token.service';
import { DEVELOPMENT_JWT_SECRET } from '../../../src/config/app-config';

/** The service the global setup started. */
export function serviceUrl(): string {
  const url = process.env.BROWSER_SERVICE_URL;
  if (!url) throw new Error('BROWSER_SERVICE_URL is not set: run the browser specs with npm run test:browser');
  return url;
}

/** Tokens as the development service accepts them (it runs on the built-in development secret). */
export const tokenFor = (accountId: string, roles: Role[] = []) => signToken(DEVELOPMENT_JWT_SECRET, accountId, roles);

export async function graphql<T = any>(url: string, query: string, variables: object = {}, token?: string): Promise<{ data?: T; errors?: any[] }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: T; errors?: any[] };
}

let sequence = 0;

/** Server-to-server metering, as another service of the SaaS would charge the account. */
export async function consume(url: string, accountId: string, creditType: 'MESSAGE' | 'INTEGRATION', amount: number, events = 1): Promise<void> {
  const token = await tokenFor('browser-tests', [Role.SERVICE]);
  const per = Math.floor(amount / events);
  const list = Array.from({ length: events }, (_, index) => ({
    accountId,
    creditType,
    amount: index === events - 1 ? amount - per * (events - 1) : per,
    idempotencyKey: `browser-${process.pid}-${Date.now()}-${sequence++}`,
    description: `browser test ${creditType.toLowerCase()} use`,
  }));
  const { data, errors } = await graphql(
    url,
    'mutation($input: ConsumeCreditsBatchInput!) { consumeCreditsBatch(input: $input) { results { allowed } } }',
    { input: { events: list } },
    token,
  );
  if (errors || !data.consumeCreditsBatch.results.every((result: { allowed: boolean }) => result.allowed)) {
    throw new Error(`consumption refused: ${JSON.stringify(errors ?? data)}`);
  }
}
