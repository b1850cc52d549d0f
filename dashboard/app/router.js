// Client-side routing under /billing: links to other /billing pages change the page without reloading it.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

function current() {
  return { pathname: window.location.pathname, search: window.location.search };
}

export function navigate(href, { replace = false } = {}) {
  window.history[replace ? 'replaceState' : 'pushState'](null, '', href);
  listeners.forEach((listener) => listener(current()));
  if (!replace) {
    window.scrollTo(0, 0);
    document.getElementById('main')?.focus();
  }
}

export function useLocation() {
  const [location, setLocation] = useState(current());
  useEffect(() => {
    listeners.add(setLocation);
    const onPop = () => setLocation(current());
    window.addEventListener('popstate', onPop);
    return () => {
      listeners.delete(setLocation);
      window.removeEventListener('popstate', onPop);
    };
  }, []);
  return location;
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest?.('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith('/billing')) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
