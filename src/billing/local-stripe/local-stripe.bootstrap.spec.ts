import { localStripeMode } from './local-stripe.bootstrap';

describe('localStripeMode', () => {
  it('simulates payments in development when no Stripe key is set', () => {
    expect(localStripeMode({ NODE_ENV: 'development' })).toBe('on');
    expect(localStripeMode({ NODE_ENV: 'test' })).toBe('on');
  });

  it('uses Stripe when a key is set, unless LOCAL_STRIPE=true asks for the local one', () => {
    expect(localStripeMode({ NODE_ENV: 'development', STRIPE_SECRET_KEY: 'sk_test_x' })).toBe('off');
    expect(localStripeMode({ NODE_ENV: 'development', STRIPE_SECRET_KEY: 'sk_test_x', LOCAL_STRIPE: true })).toBe('on');
  });

  it('never simulates with LOCAL_STRIPE=false', () => {
    expect(localStripeMode({ NODE_ENV: 'development', LOCAL_STRIPE: false })).toBe('off');
  });

  it('never simulates in production, and refuses to start when asked to', () => {
    expect(localStripeMode({ NODE_ENV: 'production' })).toBe('off');
    expect(localStripeMode({ NODE_ENV: 'production', LOCAL_STRIPE: false })).toBe('off');
    expect(localStripeMode({ NODE_ENV: 'production', LOCAL_STRIPE: true })).toBe('refused');
    expect(localStripeMode({ NODE_ENV: 'production', LOCAL_STRIPE: true, STRIPE_SECRET_KEY: 'sk_live_x' })).toBe('refused');
  });
});
