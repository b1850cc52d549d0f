import { ConfigValidationError, DEVELOPMENT_JWT_SECRET, loadConfig } from './app-config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('has working defaults for development', () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    expect(config.PORT).toBe(3000);
    expect(config.HOLD_TTL_SECONDS).toBe(300);
    expect(config.JWT_SECRET).toBe(DEVELOPMENT_JWT_SECRET);
    expect(config.stripeConfigured).toBe(false);
  });

  it('names every bad variable', () => {
    const problems = problemsOf({ PORT: 'eighty', DATABASE_URL: 'mysql://x', HOLD_TTL_SECONDS: '-1' });
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/HOLD_TTL_SECONDS/);
  });

  it('refuses a bad cron expression', () => {
    expect(problemsOf({ CREDITS_CRON: 'every minute' }).join()).toMatch(/CREDITS_CRON/);
  });

  it('requires a JWT secret in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' }).join()).toMatch(/JWT_SECRET/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) })).toEqual([]);
  });

  it('refuses a short JWT secret and a Stripe key without its webhook secret', () => {
    expect(problemsOf({ JWT_SECRET: 'short' }).join()).toMatch(/JWT_SECRET/);
    expect(problemsOf({ STRIPE_SECRET_KEY: 'sk_test_abc' }).join()).toMatch(/STRIPE_WEBHOOK_SECRET/);
  });

  it('keeps a past-due subscription on its plan for 72 hours unless told otherwise, and refuses a bad grace', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).PAST_DUE_GRACE_HOURS).toBe(72);
    expect(loadConfig({ NODE_ENV: 'test', PAST_DUE_GRACE_HOURS: '0' }).PAST_DUE_GRACE_HOURS).toBe(0);
    expect(problemsOf({ PAST_DUE_GRACE_HOURS: '-1' }).join()).toMatch(/PAST_DUE_GRACE_HOURS/);
    expect(problemsOf({ PAST_DUE_GRACE_HOURS: 'three days' }).join()).toMatch(/PAST_DUE_GRACE_HOURS/);
  });

  it('prepares statements unless DATABASE_PREPARED_STATEMENTS is false, and refuses anything but true or false', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).preparedStatements).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_PREPARED_STATEMENTS: '' }).preparedStatements).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_PREPARED_STATEMENTS: 'true' }).preparedStatements).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_PREPARED_STATEMENTS: 'false' }).preparedStatements).toBe(false);
    expect(problemsOf({ DATABASE_PREPARED_STATEMENTS: 'no' }).join()).toMatch(/DATABASE_PREPARED_STATEMENTS/);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_URL: '', STRIPE_SECRET_KEY: '' }).DATABASE_URL).toBeUndefined();
  });
});

describe('DEV_SIGN_IN and GRAPHQL_IDE', () => {
  it('offers "sign in as" in development only, unless a test turns it on; production refuses it', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).devSignIn).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).devSignIn).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', DEV_SIGN_IN: 'true' }).devSignIn).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', DEV_SIGN_IN: 'false' }).devSignIn).toBe(false);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), DEV_SIGN_IN: 'true' })).toThrow(/DEV_SIGN_IN/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).devSignIn).toBe(false);
  });

  it('serves the GraphQL IDE wherever introspection is on, unless set', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).graphqlIde).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).graphqlIde).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), GRAPHQL_IDE: 'true' }).graphqlIde).toBe(true);
  });
});
