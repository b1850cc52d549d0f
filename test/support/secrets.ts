/** The JWT secret of every service the tests start. */
export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters';
