import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { graphql } from '../api.js';
import { CREDIT_TYPE_NAMES, formatDateTime, formatMoney, formatNumber } from '../format.js';
import { ErrorMessage, Loading, PageTitle } from './common.js';

const PAGE_SIZE = 20;
const signed = (amount) => (amount > 0 ? `+${formatNumber(amount)}` : formatNumber(amount));

const LISTS = {
  transactions: {
    label: 'Transactions',
    field: 'creditTransactions',
    fields: 'id createdAt kind creditType amount balanceAfter description',
    columns: ['When', 'What', 'Type', 'Amount', 'Left after', 'Description'],
    row: (node) => [formatDateTime(node.createdAt), node.kind, node.creditType ? CREDIT_TYPE_NAMES[node.creditType] : 'Wallet',
      signed(node.amount), formatNumber(node.balanceAfter), node.description ?? ''],
  },
  purchases: {
    label: 'Purchases',
    field: 'creditPurchases',
    fields: 'id createdAt packageId credits amountCents currency status',
    columns: ['When', 'Package', 'Credits', 'Paid', 'Status'],
    row: (node) => [formatDateTime(node.createdAt), node.packageId, formatNumber(node.credits), formatMoney(node.amountCents, node.currency), node.status],
  },
  usage: {
    label: 'Usage',
    field: 'creditUsage',
    fields: 'id createdAt creditType amount fromAllowance fromWallet description',
    columns: ['When', 'Type', 'Units', 'From allowance', 'From wallet', 'Description'],
    row: (node) => [formatDateTime(node.createdAt), CREDIT_TYPE_NAMES[node.creditType], formatNumber(node.amount),
      formatNumber(node.fromAllowance), formatNumber(node.fromWallet), node.description ?? ''],
  },
};

function query(list) {
  return `query History($first: Int, $after: String) {
    ${list.field}(first: $first, after: $after) { edges { node { ${list.fields} } } pageInfo { hasNextPage endCursor } }
  }`;
}

function HistoryList({ name, announce }) {
  const list = LISTS[name];
  const [rows, setRows] = useState([]);
  const [pageInfo, setPageInfo] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);

  const load = async (after) => {
    setLoading(true);
    try {
      const data = await graphql(query(list), { first: PAGE_SIZE, after });
      const connection = data[list.field];
      setRows((previous) => [...(after ? previous : []), ...connection.edges.map((edge) => edge.node)]);
      setPageInfo(connection.pageInfo);
      setError(null);
      if (after) announce(`${connection.edges.length} more ${list.label.toLowerCase()} loaded.`);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(null), [name]);

  return html`
    <section aria-labelledby="history-list-title">
      <h2 id="history-list-title">${list.label}</h2>
      <${ErrorMessage} error=${error} />
      ${loading && rows.length === 0 && html`<${Loading} what=${list.label.toLowerCase()} />`}
      ${!loading && rows.length === 0 && !error && html`<p class="hint">Nothing yet.</p>`}
      ${rows.length > 0 && html`
        <div class="table-wrap" tabindex="0" role="region" aria-label=${`${list.label}, scrollable`}>
          <table data-testid=${`history-${name}`}>
            <thead><tr>${list.columns.map((column) => html`<th scope="col">${column}</th>`)}</tr></thead>
            <tbody>${rows.map((node) => html`<tr key=${node.id}>${list.row(node).map((cell) => html`<td>${cell}</td>`)}</tr>`)}</tbody>
          </table>
        </div>`}
      ${pageInfo?.hasNextPage && html`
        <button type="button" class="button secondary" disabled=${loading} onClick=${() => load(pageInfo.endCursor)}>
          ${loading ? 'Loading…' : 'Load more'}
        </button>`}
    </section>`;
}

export function HistoryPage({ announce }) {
  const [name, setName] = useState('transactions');
  return html`
    <${PageTitle}>History<//>
    <div class="tabs" role="group" aria-label="Which history">
      ${Object.entries(LISTS).map(([key, list]) => html`
        <button type="button" class="tab" aria-pressed=${key === name} onClick=${() => setName(key)}>${list.label}</button>`)}
    </div>
    <${HistoryList} key=${name} name=${name} announce=${announce} />
  `;
}
