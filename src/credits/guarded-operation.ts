import { Injectable, OnModuleInit, Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { GraphQLResolveInfo } from 'graphql';
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

  /** The guarded root fields the operation of `info` will run, in order (skipped fields left out). */
  guardedFieldsOf(info: GraphQLResolveInfo): GuardedField[] {
    const rootType = info.parentType;
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
}
