import http from 'node:http';
import type { TestApp } from './test-app';

/** Sends a GraphQL operation as `accountId` and hangs up `afterMs` later, whatever the service is doing then. */
export async function hangUp(
  app: TestApp,
  accountId: string,
  query: string,
  variables: object,
  afterMs: number,
): Promise<void> {
  const token = await app.token(accountId);
  const address = app.server.listening ? app.server.address() : (app.server.listen(0), app.server.address());
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/graphql',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    req.on('error', () => resolve());
    req.end(JSON.stringify({ query, variables }));
    setTimeout(() => {
      req.destroy();
      resolve();
    }, afterMs);
  });
}
