import { Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';

/**
 * What @RequiresCredits needs to know about a handler that Nest keeps in decorator metadata but offers no public
 * API for: which parameters carry the request's arguments (and their DTO classes), and which root field a resolver
 * method serves. Read here and nowhere else; `nest-metadata.spec.ts` pins every assumption, so that a Nest upgrade
 * that moves them fails that spec loudly instead of letting arguments go unvalidated.
 */

/** Where a handler parameter's value comes from: a GraphQL field's arguments, or one part of an HTTP request. */
export type ArgumentSource = 'args' | 'body' | 'query' | 'params';

export interface HandlerArgument {
  source: ArgumentSource;
  /** The property picked out of the source (`@Body('name')`), if one is. */
  data?: string;
  /** The declared type of the parameter: a DTO class to validate, or a primitive. */
  metatype: unknown;
}

/** @nestjs/graphql's GqlParamtype.ARGS (the marker of @Args() parameters), which the package does not export. */
const GRAPHQL_ARGS = 3;
const REST_SOURCES: Partial<Record<number, ArgumentSource>> = {
  [RouteParamtypes.BODY]: 'body',
  [RouteParamtypes.QUERY]: 'query',
  [RouteParamtypes.PARAM]: 'params',
};
/** Where @nestjs/graphql's @Query() / @Mutation() note a method's root type and field name. */
const RESOLVER_TYPE = 'graphql:resolver_type';
const RESOLVER_NAME = 'graphql:resolver_name';

/** The parameters of `owner.prototype[handler]` that receive GraphQL arguments (`graphql`) or parts of the request. */
export function handlerArguments(owner: Type<unknown>, handler: string, graphql: boolean): HandlerArgument[] {
  const metadata: Record<string, { index: number; data?: string }> =
    Reflect.getMetadata(ROUTE_ARGS_METADATA, owner, handler) ?? {};
  const types: unknown[] = Reflect.getMetadata('design:paramtypes', owner.prototype, handler) ?? [];
  const found: HandlerArgument[] = [];
  for (const [key, { index, data }] of Object.entries(metadata)) {
    const paramtype = Number(key.split(':')[0]);
    const source = graphql ? (paramtype === GRAPHQL_ARGS ? 'args' : undefined) : REST_SOURCES[paramtype];
    if (source) found.push({ source, ...(data !== undefined && { data }), metatype: types[index] });
  }
  return found;
}

/** The root type and field a resolver method serves, or null for a method that is no Query or Mutation. */
export function rootFieldOf(method: object, handler: string): { rootType: 'Query' | 'Mutation'; fieldName: string } | null {
  const rootType = Reflect.getMetadata(RESOLVER_TYPE, method) as string | undefined;
  if (rootType !== 'Query' && rootType !== 'Mutation') return null;
  return { rootType, fieldName: (Reflect.getMetadata(RESOLVER_NAME, method) as string | undefined) ?? handler };
}
