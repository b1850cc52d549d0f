import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildSchema,
  GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedDirective,
  isSpecifiedScalarType,
  parse,
  parseType,
  print,
  visit,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../src/common/cursor';

const ROOT = path.resolve(__dirname, '..');
const SCHEMA_FILE = path.join(ROOT, 'schema.graphql');
/** The repository's copies of the shared contract check and of version 2 of the contract (api/), as .ci/run checks. */
const CHECK = path.join(ROOT, 'scripts', 'check-contract.mjs');

function checkContract(schemaFile: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [CHECK, '--contract', 'contract.v2.graphql', schemaFile], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * What in a schema has no description, by schema coordinate: every type, field, argument, input field, enum value
 * and directive but GraphQL's own (introspection types, the specified scalars and directives).
 */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const need = (coordinate: string, description: string | null | undefined) => {
    if (!description?.trim()) missing.push(coordinate);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    need(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        need(`${type.name}.${field.name}`, field.description);
        for (const arg of field.args) need(`${type.name}.${field.name}(${arg.name}:)`, arg.description);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) need(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
    }
  }
  for (const directive of schema.getDirectives()) {
    if (isSpecifiedDirective(directive)) continue;
    need(`@${directive.name}`, directive.description);
    for (const arg of directive.args) need(`@${directive.name}(${arg.name}:)`, arg.description);
  }
  return missing.sort();
}

describe('GraphQL contract and schema (e2e)', () => {
  const sdl = readFileSync(SCHEMA_FILE, 'utf8');
  const schema = buildSchema(sdl);

  it('keeps version 2 of the contract (api/contract.v2.graphql), checked by the shared check committed beside it', () => {
    const { status, output } = checkContract(SCHEMA_FILE);
    expect(output).toContain('schema keeps shared/api/contract.v2.graphql');
    expect(status).toBe(0);
  });

  it('fails the check, naming each break, for a schema that renames or retypes what the contract has', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'contract-'));
    try {
      const broken = path.join(folder, 'schema.graphql');
      // The plan subscription named Subscription again, the ledger kind a String again, PageInfo without hasPreviousPage.
      const edited = visit(parse(sdl), {
        Name: (node) => (node.value === 'PlanSubscription' ? { ...node, value: 'Subscription' } : undefined),
        FieldDefinition: (node) => {
          if (node.name.value === 'hasPreviousPage') return null;
          if (node.name.value !== 'kind') return undefined;
          return { ...node, type: parseType('String!') };
        },
      });
      writeFileSync(broken, print(edited));
      const { status, output } = checkContract(broken);
      expect(status).toBe(1);
      expect(output).toMatch(/^contract: \d+ break\(s\) against shared\/api\/contract\.v2\.graphql$/m);
      for (const expected of [
        'TYPE_REMOVED: PlanSubscription was removed.',
        'FIELD_CHANGED_KIND: BillingOverview.subscription changed type from PlanSubscription! to Subscription!.',
        'FIELD_CHANGED_KIND: CreditTransaction.kind changed type from LedgerEntryKind! to String!.',
        'FIELD_REMOVED: PageInfo.hasPreviousPage was removed.',
      ]) {
        expect(output).toContain(`- ${expected}`);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('has no subscription root: the plan subscription object is PlanSubscription, not a type SDL tools take for the root', () => {
    expect(schema.getSubscriptionType() ?? null).toBeNull();
    expect(schema.getType('Subscription')).toBeUndefined();
    expect(isObjectType(schema.getType('PlanSubscription'))).toBe(true);
    // What a type named Subscription would have been taken for.
    expect(buildSchema('type Query { a: Int } type Subscription { plan: String }').getSubscriptionType()?.name).toBe(
      'Subscription',
    );
  });

  it('describes every type, field, argument and enum value of the schema', () => {
    expect(undescribed(schema)).toEqual([]);
  });

  it('finds what has no description, wherever it is', () => {
    const bare = buildSchema(`
      "described" type Query { a(b: Int): String "described" c: E }
      enum E { X "described" Y }
      input I { f: Int }
      scalar S
      directive @d(e: Int) on FIELD
    `);
    expect(undescribed(bare)).toEqual(['@d', '@d(e:)', 'E', 'E.X', 'I', 'I.f', 'Query.a', 'Query.a(b:)', 'S']);
  });

  it('states the bounds and the default of `first` on every paginated list', () => {
    const lists = Object.values(schema.getQueryType()!.getFields()).filter((field) =>
      field.args.some((arg) => arg.name === 'first'),
    );
    expect(lists.map((field) => field.name).sort()).toEqual([
      'creditPurchases',
      'creditTransactions',
      'creditUsage',
      'projectsConnection',
    ]);
    for (const field of lists) {
      const first = field.args.find((arg) => arg.name === 'first')!;
      expect({ field: field.name, description: first.description }).toEqual({
        field: field.name,
        description: expect.stringMatching(new RegExp(`1 to ${MAX_PAGE_SIZE}, ${DEFAULT_PAGE_SIZE} when omitted`)),
      });
    }
  });
});
