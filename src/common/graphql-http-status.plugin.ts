import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';

/**
 * Errors carry their HTTP status in `extensions.http.status`. Apollo uses it as the response status and strips it
 * from the error; this keeps it visible to clients and lets a partly successful operation still answer 200, so a
 * non-2xx status means the whole operation was refused (a single refused mutation answers 402).
 */
export const graphqlHttpStatusPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const { data, errors } = response.body.singleResult;
        if (!errors?.length || !data) return;
        if (Object.values(data).some((value) => value !== null)) response.http.status = 200;
      },
    };
  },
};

export function keepHttpStatus(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const http = error instanceof GraphQLError ? (error.extensions?.http as { status?: number } | undefined) : undefined;
  if (!http?.status) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, http: { status: http.status } } };
}
