/**
 * The pages of the local Stripe: its hosted checkout, a hosted invoice, a small customer portal and the admin panel.
 * Plain server-rendered HTML with its own inline style and nothing fetched from elsewhere; every action is a
 * <button> in a form, so it works from the keyboard and with assistive technology.
 */

const STYLE = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1f36; }
  body { margin: 0; background: #f6f8fa; }
  main { max-width: 56rem; margin: 0 auto; padding: 1.5rem; }
  .notice { background: #fff4d6; border: 1px solid #e3b341; border-radius: 6px; padding: .75rem 1rem; margin-bottom: 1.5rem; }
  .card { background: #fff; border: 1px solid #d8dee4; border-radius: 8px; padding: 1.5rem; margin-bottom: 1.5rem; }
  .narrow { max-width: 28rem; margin: 0 auto; }
  .price { font-size: 2rem; font-weight: 600; margin: .5rem 0 1.5rem; }
  .actions { display: flex; flex-wrap: wrap; gap: .5rem; }
  .actions form { margin: 0; }
  button { font: inherit; padding: .5rem 1rem; border-radius: 6px; border: 1px solid #8c959f; background: #fff; cursor: pointer; }
  button.primary { background: #635bff; border-color: #635bff; color: #fff; }
  button:focus-visible, a:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
  table { width: 100%; border-collapse: collapse; font-size: .9rem; }
  th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #d8dee4; vertical-align: top; }
  td .actions button { padding: .25rem .6rem; }
  .error { color: #b42318; }
  code { font-size: .85em; }
`;

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function formatMoney(cents: number, currency: string | null | undefined): string {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: (currency ?? 'usd').toUpperCase() }).format(cents / 100);
  } catch {
    return `${cents} ${currency ?? ''}`.trim();
  }
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Local Stripe</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="notice" role="note"><strong>Simulated payment — nothing is charged.</strong> This is the local Stripe of a
development server: no card is asked for and no money moves.</p>
${body}
</main>
</body>
</html>`;
}

function button(action: string, label: string, options: { primary?: boolean; fields?: Record<string, string> } = {}): string {
  const fields = Object.entries(options.fields ?? {})
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<form method="post" action="${escapeHtml(action)}">${fields}<button type="submit"${options.primary ? ' class="primary"' : ''}>${escapeHtml(label)}</button></form>`;
}

export interface CheckoutView {
  id: string;
  mode: 'payment' | 'subscription';
  itemName: string;
  amountCents: number;
  currency: string;
  cancelUrl: string | null;
}

function checkoutSummary(view: CheckoutView): string {
  const every = view.mode === 'subscription' ? ' per month' : '';
  return `<h1>${escapeHtml(view.itemName)}</h1>
<p class="price">${escapeHtml(formatMoney(view.amountCents, view.currency))}${every}</p>`;
}

export function checkoutPage(view: CheckoutView): string {
  const base = `/checkout/${encodeURIComponent(view.id)}`;
  return layout(
    `Pay for ${view.itemName}`,
    `<section class="card narrow" aria-labelledby="checkout-title">
<p id="checkout-title">Checkout</p>
${checkoutSummary(view)}
<div class="actions" role="group" aria-label="How the simulated payment ends">
${button(`${base}/pay`, 'Pay', { primary: true })}
${button(`${base}/decline`, 'Decline')}
${button(`${base}/3ds`, 'Needs 3-D Secure')}
</div>
${view.cancelUrl ? `<p><a href="${escapeHtml(view.cancelUrl)}">Cancel and go back</a></p>` : ''}
</section>`,
  );
}

export function authenticationPage(view: CheckoutView): string {
  const base = `/checkout/${encodeURIComponent(view.id)}`;
  return layout(
    '3-D Secure authentication',
    `<section class="card narrow">
<h1>Authenticate this payment</h1>
<p>Your bank asks you to confirm the payment of ${escapeHtml(formatMoney(view.amountCents, view.currency))} for
${escapeHtml(view.itemName)} (simulated 3-D Secure).</p>
<div class="actions" role="group" aria-label="How the authentication ends">
${button(`${base}/authenticate`, 'Complete authentication', { primary: true })}
${button(`${base}/fail-authentication`, 'Fail authentication')}
</div>
</section>`,
  );
}

export function declinedPage(view: CheckoutView, reason: string): string {
  return layout(
    'Payment declined',
    `<section class="card narrow">
<h1 class="error" role="alert">${escapeHtml(reason)}</h1>
<p>Nothing was paid for ${escapeHtml(view.itemName)}.</p>
<p><a href="/checkout/${encodeURIComponent(view.id)}">Try again</a></p>
${view.cancelUrl ? `<p><a href="${escapeHtml(view.cancelUrl)}">Back to the site</a></p>` : ''}
</section>`,
  );
}

export function closedCheckoutPage(id: string, status: string, returnUrl: string | null): string {
  return layout(
    'Checkout closed',
    `<section class="card narrow">
<h1>This checkout is ${escapeHtml(status)}</h1>
<p>Checkout session <code>${escapeHtml(id)}</code> can no longer be paid.</p>
${returnUrl ? `<p><a href="${escapeHtml(returnUrl)}">Back to the site</a></p>` : ''}
</section>`,
  );
}

export function notFoundPage(what: string): string {
  return layout('Not found', `<section class="card narrow"><h1>${escapeHtml(what)} not found</h1><p><a href="/">Admin panel</a></p></section>`);
}

export interface InvoiceView {
  id: string;
  status: string;
  amountCents: number;
  currency: string;
  description: string;
}

export function invoicePage(view: InvoiceView): string {
  const pay = view.status === 'open' ? `<div class="actions">${button(`/invoice/${encodeURIComponent(view.id)}/pay`, 'Pay invoice', { primary: true })}</div>` : `<p>This invoice is ${escapeHtml(view.status)}.</p>`;
  return layout(
    `Invoice ${view.id}`,
    `<section class="card narrow">
<h1>Invoice</h1>
<p>${escapeHtml(view.description)}</p>
<p class="price">${escapeHtml(formatMoney(view.amountCents, view.currency))}</p>
${pay}
</section>`,
  );
}

export interface SubscriptionView {
  id: string;
  customer: string;
  accountId: string;
  plan: string;
  status: string;
  periodStart: Date;
  periodEnd: Date;
  cancelAtPeriodEnd: boolean;
  failNextRenewal: boolean;
}

export function portalPage(view: { id: string; customer: string; returnUrl: string | null; subscriptions: SubscriptionView[] }): string {
  const rows = view.subscriptions.map((subscription) => {
    const action = subscription.cancelAtPeriodEnd
      ? `<p>Cancels on ${escapeHtml(subscription.periodEnd.toISOString().slice(0, 10))}.</p>`
      : `<div class="actions">${button(`/portal/${encodeURIComponent(view.id)}/cancel`, 'Cancel at period end', { fields: { subscription: subscription.id } })}</div>`;
    return `<section class="card"><h2>${escapeHtml(subscription.plan)}</h2>
<p>Status: ${escapeHtml(subscription.status)}; current period ends ${escapeHtml(subscription.periodEnd.toISOString().slice(0, 10))}.</p>${action}</section>`;
  });
  return layout(
    'Billing portal',
    `<h1>Billing portal</h1>
${rows.join('\n') || '<p>No active subscription.</p>'}
${view.returnUrl ? `<p><a href="${escapeHtml(view.returnUrl)}">Back</a></p>` : ''}`,
  );
}

export interface PaymentView {
  id: string;
  customer: string;
  accountId: string;
  description: string;
  amountCents: number;
  refundedCents: number;
  currency: string;
  disputed: boolean;
  created: Date;
}

export interface DeliveryView {
  eventId: string;
  type: string;
  status: number | null;
  attempts: number;
  at: Date;
}

export function adminPage(view: {
  webhookUrl: string | null;
  payments: PaymentView[];
  subscriptions: SubscriptionView[];
  deliveries: DeliveryView[];
}): string {
  const payments = view.payments.map((payment) => {
    const left = payment.amountCents - payment.refundedCents;
    const actions =
      left > 0
        ? [
            button(`/admin/payments/${encodeURIComponent(payment.id)}/refund`, 'Refund (full)', { fields: { portion: 'full' } }),
            button(`/admin/payments/${encodeURIComponent(payment.id)}/refund`, 'Refund half', { fields: { portion: 'half' } }),
            payment.disputed ? '' : button(`/admin/payments/${encodeURIComponent(payment.id)}/dispute`, 'Dispute'),
          ].join('')
        : '';
    return `<tr><td><code>${escapeHtml(payment.id)}</code><br>${escapeHtml(payment.created.toISOString().replace('T', ' ').slice(0, 19))}</td>
<td>${escapeHtml(payment.accountId || payment.customer)}</td><td>${escapeHtml(payment.description)}</td>
<td>${escapeHtml(formatMoney(payment.amountCents, payment.currency))}${payment.refundedCents ? `<br>refunded ${escapeHtml(formatMoney(payment.refundedCents, payment.currency))}` : ''}${payment.disputed ? '<br>disputed' : ''}</td>
<td><div class="actions" role="group" aria-label="Payment ${escapeHtml(payment.id)}">${actions}</div></td></tr>`;
  });
  const subscriptions = view.subscriptions.map((subscription) => {
    const live = subscription.status !== 'canceled';
    const actions = live
      ? [
          button(`/admin/subscriptions/${encodeURIComponent(subscription.id)}/renew`, 'Renew now'),
          subscription.failNextRenewal ? '' : button(`/admin/subscriptions/${encodeURIComponent(subscription.id)}/fail-next-renewal`, 'Fail next renewal payment'),
          button(`/admin/subscriptions/${encodeURIComponent(subscription.id)}/cancel`, 'Cancel now'),
        ].join('')
      : '';
    const notes = [subscription.cancelAtPeriodEnd ? 'cancels at period end' : '', subscription.failNextRenewal ? 'next renewal payment fails' : '']
      .filter(Boolean)
      .join('; ');
    return `<tr><td><code>${escapeHtml(subscription.id)}</code></td><td>${escapeHtml(subscription.accountId || subscription.customer)}</td>
<td>${escapeHtml(subscription.plan)}</td><td>${escapeHtml(subscription.status)}${notes ? `<br>${escapeHtml(notes)}` : ''}</td>
<td>${escapeHtml(subscription.periodStart.toISOString().slice(0, 10))} → ${escapeHtml(subscription.periodEnd.toISOString().slice(0, 10))}</td>
<td><div class="actions" role="group" aria-label="Subscription ${escapeHtml(subscription.id)}">${actions}</div></td></tr>`;
  });
  const deliveries = view.deliveries.map(
    (delivery) =>
      `<tr><td>${escapeHtml(delivery.at.toISOString().slice(11, 19))}</td><td>${escapeHtml(delivery.type)}</td><td><code>${escapeHtml(delivery.eventId)}</code></td>
<td>${delivery.status === null ? '<span class="error">not reached</span>' : escapeHtml(delivery.status)}</td><td>${delivery.attempts}</td></tr>`,
  );
  const table = (caption: string, head: string[], rows: string[], empty: string) =>
    `<section class="card"><table><caption><h2>${escapeHtml(caption)}</h2></caption>
<thead><tr>${head.map((cell) => `<th scope="col">${escapeHtml(cell)}</th>`).join('')}</tr></thead>
<tbody>${rows.join('\n') || `<tr><td colspan="${head.length}">${escapeHtml(empty)}</td></tr>`}</tbody></table></section>`;
  return layout(
    'Admin',
    `<h1>Local Stripe</h1>
<p>Webhook events go to ${view.webhookUrl ? `<code>${escapeHtml(view.webhookUrl)}</code>` : 'no endpoint'}.</p>
${table('Payments', ['Payment', 'Account', 'For', 'Amount', 'Actions'], payments, 'No payments yet.')}
${table('Subscriptions', ['Subscription', 'Account', 'Plan', 'Status', 'Period', 'Actions'], subscriptions, 'No subscriptions yet.')}
${table('Webhook deliveries', ['At', 'Event', 'Id', 'Answer', 'Attempts'], deliveries, 'Nothing delivered yet.')}`,
  );
}
