import type { ApolloServerPlugin } from '@apollo/server';
import type { NextFunction, Request, Response } from 'express';
import { DocumentNode, GraphQLError, Kind, visit } from 'graphql';
import { CommonErrorCode, CommonException } from './common.exception';

/**
 * PostgreSQL cannot store U+0000 in text, so a NUL anywhere in an argument would fail deep inside a write. It is
 * refused at the door instead, before anything is reserved or stored.
 */
const MESSAGE = 'Text arguments may not contain NUL characters (\\u0000).';

/** Whether a value (strings, object keys, arrays, at any depth) contains a NUL character. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') {
    return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || containsNul(inner));
  }
  return false;
}

/** Parsed documents are cached and reused by Apollo: each one's literals are checked once. */
const checkedDocuments = new WeakMap<DocumentNode, boolean>();

function documentContainsNul(document: DocumentNode): boolean {
  let found = checkedDocuments.get(document);
  if (found !== undefined) return found;
  found = false;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (node.value.includes('\u0000')) found = true;
    },
  });
  checkedDocuments.set(document, found);
  return found;
}

/** GraphQL: string literals and variables are checked once the operation is known, before any resolver runs. */
export const rejectNulPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request, document }) {
        if (containsNul(request.variables) || documentContainsNul(document)) {
          throw new GraphQLError(MESSAGE, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
        }
      },
    };
  },
};

/**
 * REST: the path, query string and parsed body. GraphQL is left to `rejectNulPlugin`, which answers in GraphQL's
 * shape; the Stripe webhook is authenticated by its signature over the raw body and judged by its own handler.
 */
export function rejectNulMiddleware(skipPaths: string[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (skipPaths.includes(req.path)) return next();
    let path = req.path;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      // a malformed escape is the router's business
    }
    if (containsNul(path) || containsNul(req.query) || containsNul(req.body)) {
      return next(new CommonException(CommonErrorCode.INVALID_CHARACTERS, MESSAGE));
    }
    next();
  };
}
