import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { graphql } from '../api.js';
import { formatMoney, formatNumber } from '../format.js';
import { useQuery } from '../use-query.js';
import { ErrorMessage, Loading, PageTitle } from './common.js';

const CREDITS_QUERY = `query Credits {
  creditPackages { id name credits priceCents currency pricePerCreditCents mostPopular }
  billing { wallet { balance } }
}`;
const WALLET_QUERY = `query Wallet { billing { wallet { balance } } }`;
const PURCHASE = `mutation Purchase($packageId: ID!) { purchaseCredits(packageId: $packageId) { url sessionId credits } }`;

/** What the page remembers across the trip to the checkout page: the wallet before, to see it rise. */
const PENDING_KEY = 'billing.pendingPurchase';
const POLL_INTERVAL_MS = 1000;
const POLL_ATTEMPTS = 15;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Back from a paid checkout: Stripe's webhook credits the wallet within seconds, so watch it rise. */
function usePurchaseReturn(search, onBalance) {
  const [message, setMessage] = useState('');
  useEffect(() => {
    const params = new URLSearchParams(search);
    const outcome = params.get('purchase');
    if (!outcome) return;
    if (outcome !== 'success') {
      setMessage('Checkout cancelled: nothing was charged.');
      return;
    }
    const pending = JSON.parse(window.sessionStorage.getItem(PENDING_KEY) ?? 'null');
    let stopped = false;
    (async () => {
      setMessage('Payment received. Waiting for your credits to reach the wallet…');
      let first = null;
      for (let attempt = 0; attempt < POLL_ATTEMPTS && !stopped; attempt++) {
        const data = await graphql(WALLET_QUERY).catch(() => null);
        const balance = data?.billing.wallet.balance;
        if (balance !== undefined) {
          first ??= balance;
          const before = pending?.balanceBefore ?? first;
          if (balance > before) {
            window.sessionStorage.removeItem(PENDING_KEY);
            onBalance(balance);
            const text = `${formatNumber(balance - before)} credits added. Your wallet now holds ${formatNumber(balance)} credits.`;
            setMessage(text);
            return;
          }
        }
        await sleep(POLL_INTERVAL_MS);
      }
      if (!stopped) setMessage('Payment received. Your credits will appear in the wallet shortly: reload this page in a minute.');
    })();
    return () => {
      stopped = true;
    };
  }, [search]);
  return message;
}

export function CreditsPage({ location, announce }) {
  const { data, error, loading } = useQuery(CREDITS_QUERY);
  const [balance, setBalance] = useState(null);
  const [buying, setBuying] = useState(null);
  const [buyError, setBuyError] = useState(null);
  const returnMessage = usePurchaseReturn(location.search, setBalance);
  const walletBalance = balance ?? data?.billing.wallet.balance;

  const buy = async (pkg) => {
    setBuying(pkg.id);
    setBuyError(null);
    announce(`Opening the checkout for ${pkg.name}…`);
    try {
      const { purchaseCredits } = await graphql(PURCHASE, { packageId: pkg.id });
      window.sessionStorage.setItem(PENDING_KEY, JSON.stringify({ balanceBefore: walletBalance ?? 0, credits: pkg.credits }));
      window.location.assign(purchaseCredits.url);
    } catch (failure) {
      setBuying(null);
      setBuyError(failure);
      announce('');
    }
  };

  return html`
    <${PageTitle}>Buy credits<//>
    ${returnMessage && html`<p class="notice" role="status" data-testid="purchase-status">${returnMessage}</p>`}
    <${ErrorMessage} error=${error ?? buyError} />
    ${loading && !data && html`<${Loading} what="credit packages" />`}
    ${data && html`
      <p class="lead">Your wallet holds <strong data-testid="wallet-balance">${formatNumber(walletBalance)}</strong> credits.</p>
      <ul class="grid packages" aria-label="Credit packages">
        ${data.creditPackages.map((pkg) => html`
          <li key=${pkg.id} class=${`card package${pkg.mostPopular ? ' popular' : ''}`}>
            <h2>${pkg.name}</h2>
            ${pkg.mostPopular && html`<p class="badge popular-badge">Most popular</p>`}
            <p class="figure"><strong>${formatNumber(pkg.credits)}</strong> credits</p>
            <p class="price">${formatMoney(pkg.priceCents, pkg.currency)}</p>
            <p class="hint">${formatMoney(pkg.pricePerCreditCents, pkg.currency, 3)} per credit</p>
            <button type="button" class="button" onClick=${() => buy(pkg)} disabled=${buying !== null}
              aria-label=${`Buy ${pkg.name}: ${formatNumber(pkg.credits)} credits for ${formatMoney(pkg.priceCents, pkg.currency)}`}>
              ${buying === pkg.id ? 'Opening checkout…' : 'Buy'}
            </button>
          </li>`)}
      </ul>`}
    <section class="card explainer" aria-labelledby="how-title">
      <h2 id="how-title">How credits work</h2>
      <ul>
        <li>Your plan gives you an allowance of messages and integration calls each period; it resets when the period renews.</li>
        <li>Once the allowance of a type is used up, wallet credits pay for further use: by default one credit per message or integration call.</li>
        <li>Credits you buy go to your wallet as soon as the payment is confirmed, and stay there from one period to the next until used.</li>
        <li>Projects are a limit of your plan, not a consumable: the wallet does not pay for them. Upgrade to keep more projects.</li>
        <li>Payment is handled by Stripe’s checkout page; this service never sees your card.</li>
      </ul>
    </section>
  `;
}
