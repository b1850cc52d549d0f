import { Injectable, OnModuleInit, Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { GraphQLResolveInfo, Kind, OperationDefinitionNode, SelectionNode } from 'graphql';
import { collectFields } from 'graphql/execution/collectFields';
import { getArgumentValues } from 'graphql/execution/values';
import { CreditType } from './credit-type.enum';
import { rootFieldOf } from './nest-metadata';
import { CreditRequirement, REQUIRED_CREDITS } from './requires-credits.decorator';

/** One guarded handler: where it lives (for validating its arguments) and what it charges. */
export interface GuardedHandler {
  owner: Type<unknown>;
  handler: string;
  requirements: CreditRequirement[];
}

/** A guarded root field of one GraphQL operation, with the arguments it will be called with. */
export interface GuardedField {
  /** The field's key in the answer: its alias, or its name. */
  responseKey: string;
  fieldName: string;
  guarded: GuardedHandler;
  args: Record<string, unknown>;
}

/** What a guarded field of an operation ended as, reported in the answer's `extensions.credits`. */
export interface FieldChargeOutcome {
  field: string;
  status: 'CHARGED' | 'RELEASED' | 'REFUSED' | 'REPLAYED';
  charges: Array<{ type: CreditType; amount: number }>;
}

/**
 * The guarded resolvers of the application, by root type and field name. An operation with several guarded root
 * fields is checked as a whole before any of them runs (see CreditsInterceptor): for that, the interceptor of the
 * first field must know what the others will charge.
 */
@Injectable()
export class GuardedOperations implements OnModuleInit {
  private readonly fields = new Map<string, GuardedHandler>();
  private readonly spans = new WeakMap<OperationDefinitionNode, boolean>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.metatype) continue;
      const owner = wrapper.metatype as Type<unknown>;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const handler of this.scanner.getAllMethodNames(prototype)) {
        const method = (prototype as Record<string, unknown>)[handler] as object;
        const root = rootFieldOf(method, handler);
        if (!root) continue;
        const requirements = this.reflector.getAllAndOverride<CreditRequirement[] | undefined>(REQUIRED_CREDITS, [
          method as () => unknown,
          owner,
        ]);
        if (!requirements?.length) continue;
        this.fields.set(`${root.rootType}.${root.fieldName}`, { owner, handler, requirements });
      }
    }
  }

  /**
   * The guarded root fields the operation of `info` will run, in order (skipped fields left out), when there may be
   * more than one; an empty list for an operation with at most one, which needs no reservation as a whole.
   */
  guardedFieldsOf(info: GraphQLResolveInfo): GuardedField[] {
    const rootType = info.parentType;
    if (!this.maySpanSeveral(info)) return [];
    const selected = collectFields(info.schema, info.fragments, info.variableValues, rootType, info.operation.selectionSet);
    const guarded: GuardedField[] = [];
    for (const [responseKey, nodes] of selected) {
      const fieldName = nodes[0].name.value;
      const handler = this.fields.get(`${rootType.name}.${fieldName}`);
      const definition = rootType.getFields()[fieldName];
      if (!handler || !definition) continue;
      guarded.push({ responseKey, fieldName, guarded: handler, args: getArgumentValues(definition, nodes[0], info.variableValues) });
    }
    return guarded;
  }

  /**
   * Whether the operation names more than one guarded root field anywhere in its text (fragments included, @skip and
   * @include not applied), remembered per parsed operation: the server keeps parsed documents, so most requests
   * answer this from the cache and never collect their fields.
   */
  private maySpanSeveral(info: GraphQLResolveInfo): boolean {
    let several = this.spans.get(info.operation);
    if (several === undefined) {
      const rootType = info.parentType.name;
      let count = 0;
      const visit = (selections: readonly SelectionNode[], seen: Set<string>) => {
        for (const selection of selections) {
          if (selection.kind === Kind.FIELD) {
            if (this.fields.has(`${rootType}.${selection.name.value}`)) count++;
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            visit(selection.selectionSet.selections, seen);
          } else if (!seen.has(selection.name.value)) {
            seen.add(selection.name.value);
            const fragment = info.fragments[selection.name.value];
            if (fragment) visit(fragment.selectionSet.selections, seen);
          }
        }
      };
      visit(info.operation.selectionSet.selections, new Set());
      several = count > 1;
      this.spans.set(info.operation, several);
    }
    return several;
  }
}
