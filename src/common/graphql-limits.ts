import type { ApolloServerPlugin } from '@apollo/server';
import depthLimit from 'graphql-depth-limit';
import { GraphQLError, GraphQLSchema, ValidationRule } from 'graphql';
import { getComplexity, simpleEstimator } from 'graphql-query-complexity';

/** Refuses operations nested deeper than `maxDepth` while validating them. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return depthLimit(maxDepth);
}

/**
 * Refuses an operation whose cost (one per field, aliases included, so an alias bomb adds up) exceeds `maximum`,
 * before anything runs.
 */
export function complexityLimitPlugin(maximum: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          let complexity: number;
          try {
            complexity = getComplexity({
              schema: schema as GraphQLSchema,
              operationName: request.operationName,
              query: document,
              variables: request.variables ?? {},
              estimators: [simpleEstimator({ defaultComplexity: 1 })],
            });
          } catch {
            // Variables that do not fit the operation: execution answers that with BAD_USER_INPUT.
            return;
          }
          if (complexity > maximum) {
            throw new GraphQLError(`This operation is too complex: it costs ${complexity}, the limit is ${maximum}.`, {
              extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}
