import { useCallback, useEffect, useState } from 'preact/hooks';
import { graphql } from './api.js';

/** One GraphQL query's state for a page: data, the error to show, and a reload for after a change. */
export function useQuery(query, variables) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const key = JSON.stringify(variables ?? {});
  const reload = useCallback(async () => {
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await graphql(query, variables);
      setState({ data, error: null, loading: false });
      return data;
    } catch (error) {
      setState((previous) => ({ ...previous, error, loading: false }));
      return null;
    }
  }, [query, key]);
  useEffect(() => void reload(), [reload]);
  return { ...state, reload };
}
