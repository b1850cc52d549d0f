// The GraphQL IDE served at /graphql to browsers: GraphiQL, bundled with its styles, nothing loaded from elsewhere.
// The token field keeps a bearer token in localStorage and sends it as the Authorization header; headers typed in
// GraphiQL's own header editor are sent too and win.
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import './ide.css';

const TOKEN_KEY = 'billing.token';
const ENDPOINT = new URL('/graphql', window.location.href).toString();

function storedToken() {
  return window.localStorage.getItem(TOKEN_KEY) ?? window.sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function fetcher(params, options) {
  const token = storedToken();
  return fetch(ENDPOINT, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options?.headers ?? {}),
    },
    body: JSON.stringify(params),
  }).then((response) => response.json());
}

function TokenBar() {
  const [token, setToken] = useState(storedToken());
  const [saved, setSaved] = useState('');
  const save = (event) => {
    event.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, '');
    if (value) window.localStorage.setItem(TOKEN_KEY, value);
    else window.localStorage.removeItem(TOKEN_KEY);
    setToken(value);
    setSaved(value ? 'Token saved: it is sent with every request.' : 'Token removed: requests are anonymous.');
  };
  return (
    <form className="token-bar" onSubmit={save}>
      <label htmlFor="ide-token">Bearer token</label>
      <input
        id="ide-token"
        type="password"
        autoComplete="off"
        spellCheck={false}
        placeholder="paste a token (npm run token -- <account>)"
        value={token}
        onInput={(event) => setToken(event.currentTarget.value)}
      />
      <button type="submit">Save</button>
      <a href="/billing">Billing dashboard</a>
      <span role="status" aria-live="polite">{saved}</span>
    </form>
  );
}

const DEFAULT_QUERY = `# The catalog needs no token; billing and the histories do (set one above).
{
  plans {
    code
    name
    priceCents
  }
}
`;

function App() {
  return (
    <div className="ide-shell">
      <TokenBar />
      <div className="ide-main">
        <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} shouldPersistHeaders={false} />
      </div>
    </div>
  );
}

createRoot(document.getElementById('ide')).render(<App />);
