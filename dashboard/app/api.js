// The dashboard's only server: the public GraphQL API, called with the signed-in person's bearer token.
const TOKEN_KEY = 'billing.token';

export function storedToken() {
  return window.localStorage.getItem(TOKEN_KEY) ?? window.sessionStorage.getItem(TOKEN_KEY);
}

/** Remembered on this device (localStorage) or for this tab only (sessionStorage). */
export function storeToken(token, remember) {
  clearToken();
  (remember ? window.localStorage : window.sessionStorage).setItem(TOKEN_KEY, token);
}

export function clearToken() {
  window.localStorage.removeItem(TOKEN_KEY);
  window.sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

const signedOutListeners = new Set();
export function onSignedOut(listener) {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export async function graphql(query, variables = {}, { token = storedToken() } = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError('The billing service cannot be reached. Check your connection and try again.', 'NETWORK');
  }
  const body = await response.json().catch(() => null);
  const error = body?.errors?.[0];
  if (error) {
    const code = error.extensions?.code ?? 'ERROR';
    if (code === 'UNAUTHENTICATED') signedOutListeners.forEach((listener) => listener());
    throw new ApiError(error.message, code);
  }
  if (!body?.data) throw new ApiError(`The billing service answered ${response.status}.`, 'HTTP');
  return body.data;
}

/** Development only: the service signs a token for any account (POST /billing/dev-token). */
export async function mintDevToken(accountId, admin) {
  const response = await fetch('/billing/dev-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId, admin }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = Array.isArray(body?.message) ? body.message.join(' ') : body?.message;
    throw new ApiError(message ?? `Sign-in failed (${response.status}).`, 'DEV_SIGN_IN');
  }
  return body.token;
}

/**
 * Whether this service only simulates payments (its local Stripe). The field's name is one constant: an older
 * service does not know it and answers an error, which means "no".
 */
export const PAYMENTS_SIMULATED_FIELD = 'paymentsSimulated';
export async function paymentsSimulated() {
  try {
    const data = await graphql(`{ ${PAYMENTS_SIMULATED_FIELD} }`, {}, { token: null });
    return data[PAYMENTS_SIMULATED_FIELD] === true;
  } catch {
    return false;
  }
}
