import { Type } from '@nestjs/common';
import { ArgsOptions, Field, Int, ObjectType } from '@nestjs/graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './cursor';

@ObjectType('PageInfo', { description: 'where a page stands in its list, and the cursors of its first and last edges' })
export class PageInfo {
  @Field({ description: 'true when more nodes follow this page: ask again with `after: endCursor`' })
  hasNextPage!: boolean;

  // Read only when the field is asked for: finding out costs a query of its own (see connectionFrom).
  @Field(() => Boolean, { description: 'true when nodes come before this page (a page asked for `after` a cursor that has some)' })
  hasPreviousPage!: boolean | Promise<boolean>;

  @Field(() => String, { nullable: true, description: "the first edge's cursor; null when the page is empty" })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: "the last edge's cursor; null when the page is empty" })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/**
 * One page of a list, in the list's order: whether rows follow it (`more`) and whether rows come before it
 * (`preceded`: false on a first page; after a cursor, worked out when someone asks).
 */
export interface Page<T> {
  rows: T[];
  more: boolean;
  preceded: false | (() => Promise<boolean>);
}

/** The arguments of every paginated list: `first` and `after`. */
export const PAGE_ARGS = {
  first: {
    type: () => Int,
    nullable: true,
    description: `how many nodes to return: 1 to ${MAX_PAGE_SIZE}, ${DEFAULT_PAGE_SIZE} when omitted`,
  },
  after: {
    type: () => String,
    nullable: true,
    description: 'a cursor this list gave out (an edge\'s cursor or pageInfo.endCursor): the page starts after it',
  },
} satisfies Record<string, ArgsOptions>;

/** A page as its Connection: each row's cursor and node, and where the page stands in the list. */
export function connectionFrom<Row, Node>(
  page: Page<Row>,
  cursorOf: (row: Row) => string,
  nodeOf: (row: Row) => Node,
): Connection<Node> {
  const edges = page.rows.map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.more,
      get hasPreviousPage() {
        return page.preceded ? page.preceded() : false;
      },
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** The Relay-style `<Name>Edge` and `<Name>Connection` object types for a node type; `order` says the list's order. */
export function connectionOf<T>(node: Type<T>, name: string, order: string): Type<Connection<T>> {
  @ObjectType(`${name}Edge`, { description: `a ${name} and its cursor` })
  class EdgeType implements Edge<T> {
    @Field({ description: 'where this node stands in the list: pass it as `after` to continue after it' })
    cursor!: string;

    @Field(() => node, { description: `the ${name}` })
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `one page of ${name} nodes, ${order}` })
  class ConnectionType implements Connection<T> {
    @Field(() => [EdgeType], { description: "the page's nodes with their cursors, in the list's order" })
    edges!: Edge<T>[];

    @Field(() => PageInfo, { description: 'whether nodes come before and after this page, and the cursors of its ends' })
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}
