import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { graphql } from '../api.js';
import { CREDIT_TYPE_NAMES, formatDate, formatMoney, formatNumber } from '../format.js';
import { useQuery } from '../use-query.js';
import { ErrorMessage, Loading, PageTitle } from './common.js';

const SUBSCRIPTION_FIELDS = `plan { code name } status currentPeriodStart currentPeriodEnd cancelAtPeriodEnd pendingPlan { code name }`;
const PLANS_QUERY = `query Plans {
  plans { code name priceCents currency limits { creditType limit resetsEachPeriod } }
  billing { subscription { ${SUBSCRIPTION_FIELDS} } }
}`;
const CHANGE_PLAN = `mutation ChangePlan($plan: PlanCode!) {
  changePlan(plan: $plan) { checkoutUrl payment { status hostedInvoiceUrl } subscription { ${SUBSCRIPTION_FIELDS} } }
}`;
const CANCEL = `mutation Cancel { cancelSubscription { ${SUBSCRIPTION_FIELDS} } }`;
const PORTAL = `mutation Portal { billingPortal { url } }`;

const STATUS_NAMES = { ACTIVE: 'Active', TRIALING: 'Trial', PAST_DUE: 'Payment overdue', INCOMPLETE: 'Awaiting first payment', CANCELED: 'Cancelled' };

function limitText(limit) {
  const name = CREDIT_TYPE_NAMES[limit.creditType];
  if (limit.limit === null) return `Unlimited ${name.toLowerCase()}`;
  return `${formatNumber(limit.limit)} ${name.toLowerCase()}${limit.resetsEachPeriod ? ' a month' : ' at once'}`;
}

function CurrentPlan({ subscription, busy, onResume }) {
  const { plan, pendingPlan } = subscription;
  return html`
    <section class="card current-plan" aria-labelledby="current-title" data-testid="current-plan">
      <h2 id="current-title">Current plan: ${plan.name}</h2>
      <dl class="facts">
        <div><dt>Status</dt><dd>${STATUS_NAMES[subscription.status] ?? subscription.status}</dd></div>
        <div><dt>Period</dt><dd>${formatDate(subscription.currentPeriodStart)} to ${formatDate(subscription.currentPeriodEnd)}</dd></div>
      </dl>
      ${subscription.cancelAtPeriodEnd && html`
        <p class="notice pending" data-testid="pending-change">
          Cancelled: your plan ends on ${formatDate(subscription.currentPeriodEnd)}, then the account moves to Free.
          <button type="button" class="button" disabled=${busy} onClick=${onResume}>Resume ${plan.name}</button>
        </p>`}
      ${pendingPlan && !subscription.cancelAtPeriodEnd && html`
        <p class="notice pending" data-testid="pending-change">
          Downgrade scheduled: ${pendingPlan.name} takes over on ${formatDate(subscription.currentPeriodEnd)}.
        </p>`}
    </section>`;
}

function actionFor(plan, current, plans) {
  const rank = (code) => plans.findIndex((candidate) => candidate.code === code);
  if (plan.code === current.plan.code) return null;
  if (plan.code === 'FREE') return { label: `Cancel ${current.plan.name}`, kind: 'cancel' };
  return { label: `${rank(plan.code) > rank(current.plan.code) ? 'Upgrade' : 'Downgrade'} to ${plan.name}`, kind: 'change' };
}

export function PlansPage({ location, announce }) {
  const { data, error, loading, reload } = useQuery(PLANS_QUERY);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState(null);
  const [notice, setNotice] = useState(null);

  // Back from a plan's checkout: the subscription starts once Stripe's webhook arrives.
  useEffect(() => {
    if (!/success/.test(location.search)) return;
    setNotice({ text: 'Payment received. Your new plan applies as soon as Stripe confirms it.' });
    let stopped = false;
    (async () => {
      for (let attempt = 0; attempt < 15 && !stopped; attempt++) {
        const fresh = await reload();
        if (fresh && fresh.billing.subscription.plan.code !== 'FREE') {
          setNotice({ text: `You are on the ${fresh.billing.subscription.plan.name} plan.` });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    return () => {
      stopped = true;
    };
  }, [location.search]);

  const run = async (work) => {
    setBusy(true);
    setActionError(null);
    try {
      await work();
    } catch (failure) {
      setActionError(failure);
    } finally {
      setBusy(false);
    }
  };

  const change = (plan) =>
    run(async () => {
      announce(`Changing to ${plan.name}…`);
      const { changePlan } = await graphql(CHANGE_PLAN, { plan: plan.code });
      if (changePlan.checkoutUrl) return window.location.assign(changePlan.checkoutUrl);
      if (changePlan.payment) {
        setNotice({
          text: changePlan.payment.status === 'REQUIRES_ACTION'
            ? 'Your bank asks you to confirm the payment; the upgrade applies once it is paid.'
            : 'The payment was declined; the upgrade applies once the invoice is paid.',
          link: changePlan.payment.hostedInvoiceUrl,
        });
      } else {
        const subscription = changePlan.subscription;
        const text = subscription.pendingPlan
          ? `Downgrade scheduled: ${subscription.pendingPlan.name} from ${formatDate(subscription.currentPeriodEnd)}.`
          : `You are on the ${subscription.plan.name} plan.`;
        setNotice({ text });
        announce(text);
      }
      await reload();
    });

  const cancel = () =>
    run(async () => {
      const { cancelSubscription } = await graphql(CANCEL);
      const text = `Cancelled: ${cancelSubscription.plan.name} ends on ${formatDate(cancelSubscription.currentPeriodEnd)}.`;
      setNotice({ text });
      announce(text);
      await reload();
    });

  // Changing to the current paid plan takes a scheduled cancellation back.
  const resume = () => change(data.billing.subscription.plan);

  const portal = () =>
    run(async () => {
      const { billingPortal } = await graphql(PORTAL);
      window.location.assign(billingPortal.url);
    });

  const subscription = data?.billing.subscription;
  return html`
    <${PageTitle}>Plan<//>
    ${notice && html`<p class="notice" data-testid="plan-status">${notice.text} ${notice.link && html`<a href=${notice.link}>Pay the invoice</a>`}</p>`}
    <${ErrorMessage} error=${error ?? actionError} />
    ${loading && !data && html`<${Loading} what="plans" />`}
    ${subscription && html`
      <${CurrentPlan} subscription=${subscription} busy=${busy} onResume=${resume} />
      <ul class="grid plans" aria-label="Plans">
        ${data.plans.map((plan) => {
          const action = actionFor(plan, subscription, data.plans);
          const current = plan.code === subscription.plan.code;
          return html`
            <li key=${plan.code} class=${`card plan${current ? ' current' : ''}`} data-plan=${plan.code}>
              <h2>${plan.name}</h2>
              <p class="price">${formatMoney(plan.priceCents, plan.currency)} <span class="hint">a month</span></p>
              <ul class="limits">${plan.limits.map((limit) => html`<li>${limitText(limit)}</li>`)}</ul>
              ${current
                ? html`<p class="badge">Your plan</p>`
                : action && html`<button type="button" class=${`button${action.kind === 'cancel' ? ' secondary' : ''}`}
                    disabled=${busy || (action.kind === 'cancel' && subscription.cancelAtPeriodEnd)}
                    onClick=${() => (action.kind === 'cancel' ? cancel() : change(plan))}>${action.label}</button>`}
            </li>`;
        })}
      </ul>
      <section class="card" aria-labelledby="portal-title">
        <h2 id="portal-title">Payment methods and invoices</h2>
        <p class="hint">Stripe’s billing portal keeps your cards, invoices and receipts.</p>
        <button type="button" class="button secondary" disabled=${busy} onClick=${portal}>Open the billing portal</button>
      </section>`}
  `;
}
