import { html } from 'htm/preact';

export function Loading({ what }) {
  return html`<p class="loading" aria-busy="true">Loading ${what}…</p>`;
}

export function ErrorMessage({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}</p>`;
}

export function PageTitle({ children }) {
  return html`<h1 tabindex="-1">${children}</h1>`;
}
