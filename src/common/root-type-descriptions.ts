import { GraphQLSchema } from 'graphql';

/**
 * Describes the schema's root operation types, which code-first resolvers have no place to declare: applied to the
 * schema the service serves and to the schema.graphql it writes (GraphQLModule's transformSchema).
 */
export function describeRootTypes(schema: GraphQLSchema): GraphQLSchema {
  const query = schema.getQueryType();
  if (query) {
    query.description =
      'What can be read: the catalog of plans and credit packages (no token needed), an account\'s billing overview, ' +
      'its histories, and the example projects.';
  }
  const mutation = schema.getMutationType();
  if (mutation) {
    mutation.description =
      'What can be changed: purchases and plan changes through Stripe, metering, operator grants, and the example ' +
      "projects' guarded operations.";
  }
  return schema;
}
