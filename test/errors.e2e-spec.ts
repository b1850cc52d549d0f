/**
 * The README's table of error codes is the reference clients read: every code the service can emit has a row with
 * its HTTP status, and every `reason` is named. The codes are collected from the code itself (each module's
 * exceptions, the codes written in the source, the HTTP fallbacks) and from the answers of the running service to
 * requests GraphQL itself refuses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DomainException } from '../src/common/domain.exception';
import { HTTP_STATUS_CODES } from '../src/common/error-mapping';
import { LIMIT_EXCEEDED_CODE } from '../src/common/graphql-limits';
import { startTestApp, TestApp } from './support/test-app';

const ROOT = path.resolve(__dirname, '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The README's "Errors" section: its table rows by code, and the whole text (for reasons). */
function documented(): { statuses: Map<string, number>; text: string } {
  const start = README.indexOf('\n## Errors\n');
  expect(start).toBeGreaterThan(0);
  const end = README.indexOf('\n## ', start + 1);
  const text = README.slice(start, end < 0 ? undefined : end);
  const statuses = new Map<string, number>();
  for (const [, code, status] of text.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) statuses.set(code, Number(status));
  return { statuses, text };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [file] : [];
  });
}

/** Every module exception (src/**\/*.exception.ts) with every code of its module: public code, status, reason. */
function moduleCodes(): Array<{ code: string; status: number; reason?: string; from: string }> {
  const found: Array<{ code: string; status: number; reason?: string; from: string }> = [];
  const modules = sourceFiles(path.join(ROOT, 'src')).filter(
    (name) => name.endsWith('.exception.ts') && path.basename(name) !== 'domain.exception.ts',
  );
  for (const file of modules) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = Object.values(require(file) as Record<string, unknown>);
    const classes = exports.filter(
      (value): value is new (code: string, message: string) => DomainException =>
        typeof value === 'function' && value.prototype instanceof DomainException,
    );
    const enums = exports.filter(
      (value): value is Record<string, string> =>
        typeof value === 'object' && value !== null && Object.values(value).every((item) => typeof item === 'string'),
    );
    expect([path.relative(ROOT, file), classes.length > 0]).toEqual([path.relative(ROOT, file), true]);
    for (const Exception of classes) {
      for (const own of enums.flatMap((codes) => Object.values(codes))) {
        const form = new Exception(own, 'message').publicForm;
        if (!form) continue; // a code of another module's enum
        found.push({ code: form.code, status: form.status, reason: form.code === own ? undefined : own, from: path.relative(ROOT, file) });
      }
    }
  }
  return found;
}

/** Codes written into the source as `code: 'NAME'`. */
function literalCodes(): Array<{ code: string; from: string }> {
  return sourceFiles(path.join(ROOT, 'src')).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\bcode: '([A-Z][A-Z_]+)'/g)].map(([, code]) => ({ code, from: path.relative(ROOT, file) })),
  );
}

describe('the error reference (README, "Errors")', () => {
  const { statuses, text } = documented();

  it('documents every module exception with its HTTP status, and names every reason', () => {
    const codes = moduleCodes();
    expect(codes.length).toBeGreaterThan(20);
    const undocumented = codes.filter(({ code, status }) => statuses.get(code) !== status);
    expect(undocumented).toEqual([]);
    const unnamed = codes.filter(({ reason }) => reason && !text.includes(`\`${reason}\``));
    expect(unnamed).toEqual([]);
  });

  it('documents every code written in the source and every HTTP fallback', () => {
    const missing = literalCodes().filter(({ code }) => !statuses.has(code));
    expect(missing).toEqual([]);
    for (const [status, code] of Object.entries(HTTP_STATUS_CODES)) {
      expect([code, statuses.get(code)]).toEqual([code, Number(status)]);
    }
    for (const code of [LIMIT_EXCEEDED_CODE, 'BAD_REQUEST', 'SERVICE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR']) {
      expect([code, statuses.has(code)]).toEqual([code, true]);
    }
  });

  describe('what the running service answers', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    const answers: Array<[string, () => Promise<request.Response>]> = [
      ['a document that does not parse', () => request(t.server).post('/graphql').send({ query: '{ plans {' })],
      ['a field the schema lacks', () => request(t.server).post('/graphql').send({ query: '{ nothingHere }' })],
      [
        'an operation name the document lacks',
        () => request(t.server).post('/graphql').send({ query: 'query A { plans { code } }', operationName: 'B' }),
      ],
      [
        'an unknown persisted query',
        () =>
          request(t.server)
            .post('/graphql')
            .send({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }),
      ],
      ['no query at all', () => request(t.server).post('/graphql').send({})],
      [
        'an operation past the depth limit',
        () => request(t.server).post('/graphql').send({ query: `{ ${'plans { limits { '.repeat(8)} creditType ${'} }'.repeat(8)} }` }),
      ],
      ['no token', () => request(t.server).post('/graphql').send({ query: '{ billing { accountId } }' })],
      ['an unknown package', async () => request(t.server).post('/graphql').set('authorization', `Bearer ${await t.token('errors')}`).send({ query: 'mutation { purchaseCredits(packageId: "nope") { url } }' })],
    ];

    it.each(answers)('%s: its code and status are in the table', async (_case, send) => {
      const response = await send();
      const codes = (response.body.errors as Array<{ extensions: { code: string; http?: { status: number } } }>).map(
        (error) => error.extensions.code,
      );
      expect(codes.length).toBeGreaterThan(0);
      for (const code of codes) expect([code, statuses.get(code)]).toEqual([code, response.status]);
    });
  });

  it('an unknown package is reported as such even without Stripe', async () => {
    const t = await startTestApp({ STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '' });
    try {
      const res = await t.gql('mutation { purchaseCredits(packageId: "nope") { url } }', {}, { as: 'no-stripe' });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'PACKAGE_NOT_FOUND' });
      // A real package still needs Stripe.
      const { data } = await t.gql('{ creditPackages { id } }');
      const real = await t.gql(`mutation { purchaseCredits(packageId: "${data!.creditPackages[0].id}") { url } }`, {}, { as: 'no-stripe' });
      expect(real.errors?.[0].extensions.code).toBe('BILLING_NOT_CONFIGURED');
    } finally {
      await t.close();
    }
  });
});
