import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../common/request-context';
import { chargeOutcomesOf } from './credits.interceptor';

/**
 * Every GraphQL answer that ran a guarded field says what each such field was charged, in
 * `extensions.credits: [{ field, status: CHARGED | RELEASED | REFUSED | REPLAYED, charges }]`, whatever else the
 * answer holds: with non-null fields, one failing field nulls the whole `data`, and a client must still be able to
 * tell that another field ran and was paid for. An answer in which something was charged is never a non-2xx one.
 */
export const chargeOutcomesPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        if (response.body.kind !== 'single' || !contextValue?.req) return;
        const outcomes = chargeOutcomesOf(contextValue.req);
        if (!outcomes?.length) return;
        const result = response.body.singleResult;
        result.extensions = { ...result.extensions, credits: outcomes };
        if (outcomes.some((outcome) => outcome.status === 'CHARGED')) response.http.status = 200;
      },
    };
  },
};
