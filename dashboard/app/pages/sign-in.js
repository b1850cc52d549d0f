import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { graphql, mintDevToken, storeToken } from '../api.js';
import { ErrorMessage, PageTitle } from './common.js';

/** A token is accepted once the service answers with it: a mistyped one is refused here, not on every page. */
async function signInWith(token, remember, onSignedIn) {
  await graphql('query SignedIn { billing { accountId } }', {}, { token });
  storeToken(token, remember);
  onSignedIn(token);
}

export function SignInPage({ devSignIn, onSignedIn }) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(true);
  const [accountId, setAccountId] = useState('demo');
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = (work) => async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return html`
    <${PageTitle}>Sign in<//>
    <${ErrorMessage} error=${error} />
    <form class="card form" onSubmit=${submit(() => signInWith(token.trim().replace(/^Bearer\s+/i, ''), remember, onSignedIn))}>
      <h2>With your access token</h2>
      <label for="token">Bearer token</label>
      <textarea id="token" rows="3" required spellcheck="false" autocomplete="off" value=${token}
        onInput=${(event) => setToken(event.currentTarget.value)}></textarea>
      <label class="check"><input type="checkbox" checked=${remember} onChange=${(event) => setRemember(event.currentTarget.checked)} />
        Keep me signed in on this device</label>
      <button type="submit" class="button" disabled=${busy}>Sign in</button>
    </form>
    ${devSignIn && html`
      <form class="card form dev" aria-labelledby="dev-title"
        onSubmit=${submit(async () => signInWith(await mintDevToken(accountId.trim(), admin), remember, onSignedIn))}>
        <h2 id="dev-title">Development: sign in as</h2>
        <p class="hint">This service runs in development and signs a token for any account. Production has no such form.</p>
        <label for="account-id">Account id</label>
        <input id="account-id" required value=${accountId} autocomplete="off" onInput=${(event) => setAccountId(event.currentTarget.value)} />
        <label class="check"><input type="checkbox" checked=${admin} onChange=${(event) => setAdmin(event.currentTarget.checked)} /> Administrator</label>
        <button type="submit" class="button" disabled=${busy}>Sign in as</button>
      </form>`}
  `;
}
