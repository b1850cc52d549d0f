import { html } from 'htm/preact';
import {
  CREDIT_TYPE_HINTS,
  CREDIT_TYPE_NAMES,
  describeRunOut,
  formatDate,
  formatDateTime,
  formatNumber,
  LEVEL_NAMES,
} from '../format.js';
import { useQuery } from '../use-query.js';
import { ErrorMessage, Loading, PageTitle } from './common.js';

export const USAGE_QUERY = `query Usage {
  billing {
    accountId
    subscription { plan { code name } status currentPeriodStart currentPeriodEnd cancelAtPeriodEnd pendingPlan { name } }
    balances { creditType used limit held remaining level percentUsed resetsAt projectedExhaustionAt }
    wallet { balance totalPurchased totalUsed }
    warnings
    upgradeUrl
    purchaseUrl
  }
}`;

function UsageCard({ balance }) {
  const name = CREDIT_TYPE_NAMES[balance.creditType] ?? balance.creditType;
  const unlimited = balance.limit === null;
  const percent = Math.min(100, balance.percentUsed);
  const id = `usage-${balance.creditType.toLowerCase()}`;
  return html`
    <article class=${`card usage-card level-${balance.level.toLowerCase()}`} aria-labelledby=${id} data-credit-type=${balance.creditType} data-level=${balance.level}>
      <header class="card-head">
        <h2 id=${id}>${name}</h2>
        <span class="badge">${LEVEL_NAMES[balance.level]}</span>
      </header>
      <p class="hint">${CREDIT_TYPE_HINTS[balance.creditType]}</p>
      <p class="figure">
        <strong>${formatNumber(balance.used)}</strong> ${unlimited ? 'used, unlimited' : html`of ${formatNumber(balance.limit)} used`}
      </p>
      ${!unlimited && html`
        <div class="bar" role="progressbar" aria-label=${`${name} used`} aria-valuemin="0" aria-valuemax="100"
          aria-valuenow=${percent} aria-valuetext=${`${balance.percentUsed}% used: ${LEVEL_NAMES[balance.level]}`}>
          <span class="bar-fill" style=${{ width: `${percent}%` }}></span>
        </div>`}
      <dl class="facts">
        <div><dt>Held</dt><dd>${formatNumber(balance.held)}</dd></div>
        <div><dt>Remaining</dt><dd>${unlimited ? 'Unlimited' : formatNumber(balance.remaining)}</dd></div>
        <div><dt>Resets</dt><dd>${balance.resetsAt ? formatDateTime(balance.resetsAt) : 'Does not reset'}</dd></div>
        <div><dt>Runs out</dt><dd>${describeRunOut(balance)}</dd></div>
      </dl>
    </article>`;
}

export function UsagePage() {
  const { data, error, loading } = useQuery(USAGE_QUERY);
  const billing = data?.billing;
  return html`
    <${PageTitle}>Usage<//>
    <${ErrorMessage} error=${error} />
    ${loading && !billing && html`<${Loading} what="your usage" />`}
    ${billing && html`
      <p class="lead">
        ${billing.subscription.plan.name} plan, period ${formatDate(billing.subscription.currentPeriodStart)} to
        ${' '}${formatDate(billing.subscription.currentPeriodEnd)}.
        ${billing.subscription.cancelAtPeriodEnd && ' Cancelled: moves to Free at the period’s end.'}
        ${billing.subscription.pendingPlan && ` Moves to ${billing.subscription.pendingPlan.name} at the period’s end.`}
      </p>
      ${billing.warnings.length > 0 && html`
        <section class="warnings" aria-labelledby="warnings-title">
          <h2 id="warnings-title">Running low</h2>
          <ul>${billing.warnings.map((warning) => html`<li>${warning}</li>`)}</ul>
          <p class="actions">
            <a class="button" href=${billing.upgradeUrl}>Upgrade your plan</a>
            <a class="button secondary" href=${billing.purchaseUrl}>Buy credits</a>
          </p>
        </section>`}
      <section aria-label="Usage by credit type" class="grid usage-grid">
        ${billing.balances.map((balance) => html`<${UsageCard} key=${balance.creditType} balance=${balance} />`)}
      </section>
      <section class="card wallet" aria-labelledby="wallet-title">
        <h2 id="wallet-title">Wallet</h2>
        <p class="figure"><strong data-testid="wallet-balance">${formatNumber(billing.wallet.balance)}</strong> credits available</p>
        <p class="hint">Pays for messages and integrations once the plan’s allowance is used up.</p>
        <dl class="facts">
          <div><dt>Purchased in all</dt><dd>${formatNumber(billing.wallet.totalPurchased)}</dd></div>
          <div><dt>Spent in all</dt><dd>${formatNumber(billing.wallet.totalUsed)}</dd></div>
        </dl>
        <p class="actions"><a class="button secondary" href=${billing.purchaseUrl}>Buy credits</a></p>
      </section>`}
  `;
}
