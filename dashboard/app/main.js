// The billing dashboard: usage, credit packages, the plan and the history of one account, over the public GraphQL API.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import { clearToken, onSignedOut, paymentsSimulated, storedToken } from './api.js';
import { CreditsPage } from './pages/credits.js';
import { HistoryPage } from './pages/history.js';
import { PlansPage } from './pages/plans.js';
import { SignInPage } from './pages/sign-in.js';
import { UsagePage } from './pages/usage.js';
import { navigate, useLocation } from './router.js';
import './style.css';

const PAGES = [
  { path: '/billing/usage', label: 'Usage', component: UsagePage },
  { path: '/billing/credits', label: 'Buy credits', component: CreditsPage },
  { path: '/billing/plans', label: 'Plan', component: PlansPage },
  { path: '/billing/history', label: 'History', component: HistoryPage },
];

const devSignIn = document.querySelector('meta[name="billing-options"]')?.content === 'dev-sign-in-on';

function pageFor(pathname) {
  const path = pathname.replace(/\/+$/, '') || '/billing';
  return PAGES.find((page) => page.path === path) ?? (path === '/billing' ? PAGES[0] : null);
}

function Shell() {
  const location = useLocation();
  const [token, setToken] = useState(storedToken());
  const [status, setStatus] = useState('');
  const [simulated, setSimulated] = useState(false);

  useEffect(() => onSignedOut(() => {
    clearToken();
    setToken(null);
    setStatus('Your session ended: sign in again.');
  }), []);
  useEffect(() => void paymentsSimulated().then(setSimulated), []);

  const page = pageFor(location.pathname);
  useEffect(() => {
    document.title = `${page ? page.label : 'Not found'} · Billing`;
  }, [page]);

  const signOut = () => {
    clearToken();
    setToken(null);
    setStatus('Signed out.');
  };

  const Page = page?.component;
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <div class="top-inner">
        <a class="brand" href="/billing">Billing</a>
        ${token && html`
          <nav aria-label="Billing">
            <ul>
              ${PAGES.map((item) => html`
                <li><a href=${item.path} aria-current=${item === page ? 'page' : undefined}>${item.label}</a></li>`)}
            </ul>
          </nav>
          <button type="button" class="link-button" onClick=${signOut}>Sign out</button>`}
      </div>
    </header>
    ${simulated && html`
      <p class="banner" role="note">Payments are simulated: checkout pages are local and no card is ever charged.</p>`}
    <main id="main" tabindex="-1">
      <p class="status" role="status" aria-live="polite">${status}</p>
      ${!token
        ? html`<${SignInPage} devSignIn=${devSignIn} onSignedIn=${(value) => { setToken(value); setStatus('Signed in.'); }} />`
        : Page
          ? html`<${Page} key=${location.pathname} location=${location} announce=${setStatus} />`
          : html`<h1>Page not found</h1><p><a href="/billing">Back to your usage</a></p>`}
    </main>
  `;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${Shell} />`, root);
if (window.location.pathname.replace(/\/+$/, '') === '/billing') navigate('/billing/usage' + window.location.search, { replace: true });
