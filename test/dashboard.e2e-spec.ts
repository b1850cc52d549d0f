import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';

describe('dashboard and GraphQL IDE routes (e2e)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('answers the dashboard for every /billing path, with a policy that allows only this origin', async () => {
    t = await startTestApp();
    for (const path of ['/billing', '/billing/usage', '/billing/credits?purchase=success&session_id=cs_1', '/billing/plans', '/billing/history']) {
      const res = await request(t.server).get(path).expect(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.text).toContain('/billing/assets/');
      expect(res.text).toContain('content="dev-sign-in-off"');
    }
    const csp = (await request(t.server).get('/billing')).headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toMatch(/https:|unsafe/);
    const html = (await request(t.server).get('/billing')).text;
    const script = /src="(\/billing\/assets\/[^"]+\.js)"/.exec(html)![1];
    const asset = await request(t.server).get(script).set('accept-encoding', 'gzip').expect(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    await request(t.server).get('/billing/assets/missing.js').expect(404);
  });

  it('has no development sign-in in tests unless configured, and then signs tokens the API accepts', async () => {
    t = await startTestApp();
    await request(t.server).post('/billing/dev-token').send({ accountId: 'dev' }).expect(404);
    await t.close();
    t = await startTestApp({ DEV_SIGN_IN: 'true' });
    await request(t.server).post('/billing/dev-token').send({ accountId: 'bad id' }).expect(400);
    const { body } = await request(t.server).post('/billing/dev-token').send({ accountId: 'dev', admin: true }).expect(200);
    expect(body.roles).toEqual(['admin']);
    expect((await t.gql('{ billing { accountId } }', {}, { as: body.token })).data!.billing.accountId).toBe('dev');
    expect((await request(t.server).get('/billing')).text).toContain('content="dev-sign-in-on"');
  });

  it('gives browsers the GraphQL IDE at /graphql, GraphQL clients their answer, and no IDE when it is off', async () => {
    t = await startTestApp();
    const page = await request(t.server).get('/graphql').set('accept', 'text/html,application/xhtml+xml').expect(200);
    expect(page.text).toContain('/graphql/assets/');
    expect(page.headers['content-security-policy']).toContain("style-src 'self' 'unsafe-inline'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-eval');
    const script = /src="(\/graphql\/assets\/[^"]+\.js)"/.exec(page.text)![1];
    await request(t.server).get(script).expect(200);
    const answer = await request(t.server).post('/graphql').send({ query: '{ plans { code } }' }).expect(200);
    expect(answer.body.data.plans).toHaveLength(5);
    await t.close();
    t = await startTestApp({ GRAPHQL_IDE: 'false' });
    const off = await request(t.server).get('/graphql').set('accept', 'text/html');
    expect(off.text).not.toContain('/graphql/assets/');
  });
});
