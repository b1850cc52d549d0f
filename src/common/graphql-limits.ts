import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { ASTVisitor, GraphQLError, ValidationContext, ValidationRule } from 'graphql';

/** The code of every refusal by an operation limit (cost, depth, aliases, directives, tokens). */
export const LIMIT_EXCEEDED_CODE = 'QUERY_TOO_COMPLEX';

/** Directives in one operation: this schema has no custom directive, so only @include and @skip. */
const MAX_DIRECTIVES = 50;

export interface GraphQLLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxTokens: number;
  /** Whether validation errors may suggest names of the schema ("Did you mean ..."): only when introspection is on. */
  suggestions: boolean;
}

/** Marks a refusal by a limit, so that its answer gets LIMIT_EXCEEDED_CODE instead of Apollo's generic code. */
class OperationLimitError extends GraphQLError {
  constructor(message: string) {
    super(message.replace(/^Syntax Error: /, ''), { extensions: { http: { status: 400 } } });
  }
}

const reportLimit = (context: ValidationContext | null, error: GraphQLError) =>
  context?.reportError(new OperationLimitError(error.message));

/**
 * A limit that cannot measure an operation refuses it: an exception inside the rule becomes a validation error
 * instead of letting the operation through (or answering 500).
 */
export function failClosed(rule: ValidationRule): ValidationRule {
  return (context) => {
    const visitor = rule(context) as Record<string, unknown>;
    const guard =
      (fn: (...args: unknown[]) => unknown) =>
      (...args: unknown[]) => {
        try {
          return fn.apply(visitor, args);
        } catch {
          context.reportError(new OperationLimitError('This operation could not be measured against the limits.'));
          return false;
        }
      };
    const guarded: Record<string, unknown> = {};
    for (const key of Object.keys(visitor)) {
      const entry = visitor[key];
      if (typeof entry === 'function') guarded[key] = guard(entry as (...args: unknown[]) => unknown);
      else if (entry && typeof entry === 'object' && ('enter' in entry || 'leave' in entry)) {
        const { enter, leave } = entry as { enter?: (...args: unknown[]) => unknown; leave?: (...args: unknown[]) => unknown };
        guarded[key] = { ...(enter && { enter: guard(enter) }), ...(leave && { leave: guard(leave) }) };
      }
    }
    return guarded as ASTVisitor;
  };
}

/** "Did you mean ...?" at the end of a message, as graphql-js words every suggestion. */
const SUGGESTION = / ?Did you mean .+?\?$/;

/**
 * Apollo answers every validation error as GRAPHQL_VALIDATION_FAILED; a limit's refusal keeps its own code.
 * Without suggestions, Apollo's `hideSchemaDetailsFromClientErrors` strips them from validation errors only; the
 * errors of variables that do not fit (an enum value, an input field) lose theirs here.
 */
function errorsPlugin(suggestions: boolean): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            if (error.originalError instanceof OperationLimitError) {
              (error.extensions as Record<string, unknown>).code = LIMIT_EXCEEDED_CODE;
            }
            if (!suggestions) error.message = error.message.replace(SUGGESTION, '');
          }
        },
      };
    },
  };
}

/**
 * Depth, cost (one per field and per fragment spread, aliases included, so an alias bomb adds up), alias and
 * directive limits, checked with the other validation rules before anything runs (GraphQL Armor), and the token
 * limit of the parser, which bounds the work of parsing and validating. Fragment cycles and unknown fragments are
 * left to GraphQL's own validation rules.
 */
export function graphqlLimits(limits: GraphQLLimits): {
  validationRules: ValidationRule[];
  plugins: ApolloServerPlugin[];
  parseOptions: { maxTokens: number };
  hideSchemaDetailsFromClientErrors: boolean;
} {
  const callbacks = { propagateOnRejection: false, onReject: [reportLimit], exposeLimits: true };
  const armor = new ApolloArmor({
    costLimit: {
      ...callbacks,
      maxCost: limits.maxCost,
      objectCost: 1,
      scalarCost: 1,
      depthCostFactor: 1,
      flattenFragments: true,
      ignoreIntrospection: true,
    },
    // Armor counts the root field as level 1; GRAPHQL_MAX_DEPTH has always counted the levels below it.
    maxDepth: {
      ...callbacks,
      n: limits.maxDepth + 1,
      flattenFragments: true,
      ignoreIntrospection: true,
      exposeLimits: false,
      errorMessage: `Query depth limit of ${limits.maxDepth} exceeded.`,
    },
    maxAliases: { ...callbacks, n: limits.maxAliases },
    maxDirectives: { ...callbacks, n: MAX_DIRECTIVES },
    // The parser's own token limit answers 400 before anything else runs (Armor's version is a second parse).
    maxTokens: { enabled: false },
    // Apollo's own option below hides suggestions in every validation error.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    validationRules: armor.validationRules.map(failClosed),
    plugins: [...armor.plugins, errorsPlugin(limits.suggestions)],
    parseOptions: { maxTokens: limits.maxTokens },
    hideSchemaDetailsFromClientErrors: !limits.suggestions,
  };
}
