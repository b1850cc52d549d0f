/**
 * What every operator script shares: its arguments parsed strictly (node:util parseArgs), `--help`, and one exit
 * convention, so that a script behaves the same from a terminal, a cron job or monitoring:
 *   0  done;
 *   1  the work failed or found a problem (a database that cannot be reached, a ledger that does not reconcile);
 *   2  the command was used wrongly: an unknown option, a bad value, a refused request, bad configuration.
 * Expected failures are one line on stderr, never a stack trace; only an unexpected error prints its stack.
 */
import { parseArgs, ParseArgsConfig } from 'node:util';
import { ACCOUNT_ID_PATTERN } from '../src/auth/token.service';
import { ConfigValidationError } from '../src/config/app-config';

/** The caller's mistake: an unknown option, a bad value, a request the script refuses. Exits 2. */
export class UsageError extends Error {}

/** The work could not be done for a reason outside the command line, such as an unreachable database. Exits 1. */
export class ScriptFailure extends Error {}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type ParsedArguments<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>
>;

export interface ScriptDefinition<O extends OptionsConfig> {
  /** The npm script's name, which prefixes its messages. */
  name: string;
  /** The command line as a user types it, after `usage: `. */
  usage: string;
  /** What the script does, its options and exit codes: the rest of `--help`. */
  help: string;
  /** Its options (`--help` / `-h` is added). */
  options?: O;
  /** Most positional arguments it takes (none unless said). */
  positionals?: number;
}

/**
 * Parses the command line, answers `--help`, runs `main` and exits with its code (0 when it returns nothing),
 * reporting a thrown UsageError, ConfigValidationError or ScriptFailure in one line.
 */
export function runScript<const O extends OptionsConfig>(
  definition: ScriptDefinition<O>,
  main: (args: ParsedArguments<O>) => Promise<number | void>,
): void {
  const args = parseCommandLine(definition);
  if ((args.values as { help?: boolean }).help) {
    process.stdout.write(`usage: ${definition.usage}\n\n${definition.help.trim()}\n`);
    process.exit(0);
  }
  main(args).then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => exitWith(definition, error),
  );
}

function parseCommandLine<O extends OptionsConfig>(definition: ScriptDefinition<O>): ParsedArguments<O> {
  let args: ParsedArguments<O>;
  try {
    args = parseArgs({
      args: process.argv.slice(2),
      options: { ...definition.options, help: { type: 'boolean', short: 'h' } } as unknown as O,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    return exitWith(definition, new UsageError(parseErrorMessage(error)));
  }
  const most = definition.positionals ?? 0;
  if (args.positionals.length > most) {
    exitWith(definition, new UsageError(`unexpected argument "${args.positionals[most]}"`));
  }
  return args;
}

/** Ends the process for an error: one line and its exit code when it is expected, its stack and 1 otherwise. */
function exitWith(definition: ScriptDefinition<OptionsConfig>, error: unknown): never {
  const code = exitCode(error);
  if (code === undefined) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
  const message = error instanceof UsageError ? `${error.message} (usage: ${definition.usage})` : describeError(error);
  process.stderr.write(`${definition.name}: ${oneLine(message)}\n`);
  process.exit(code);
}

/** The exit code of an expected failure; undefined for anything else (a bug, which keeps its stack trace). */
function exitCode(error: unknown): number | undefined {
  if (error instanceof UsageError || error instanceof ConfigValidationError) return 2;
  if (error instanceof ScriptFailure) return 1;
  return undefined;
}

function describeError(error: unknown): string {
  if (error instanceof ConfigValidationError) return `invalid configuration: ${error.problems.join('; ')}`;
  return error instanceof Error ? error.message : String(error);
}

/** parseArgs' own messages, reworded for a command run through npm (they suggest `--` quoting otherwise). */
function parseErrorMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message ?? '')?.[1];
    return `unknown option ${option ?? ''}`.trim();
  }
  return (message ?? String(error)).replace(/\.$/, '');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Describes any error in one line: AggregateError (a host with several addresses) and codes included. */
export function errorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = error instanceof AggregateError ? error.errors.map(errorSummary).join('; ') : '';
  return oneLine(error.message || inner || (error as { code?: string }).code || error.name);
}

/** An account id argument: the identity provider's subject, as the service accepts it. */
export function accountIdArgument(value: string): string {
  if (!ACCOUNT_ID_PATTERN.test(value)) {
    throw new UsageError(`"${value}" is not an account id (1 to 128 letters, digits and . _ @ : | + -)`);
  }
  return value;
}

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/**
 * An ISO 8601 moment: a date (midnight UTC) or a date-time with its offset (`Z` or `+02:00`), so that the moment
 * does not depend on the machine's time zone. Impossible dates and times (Feb 30, 25:00) are refused, not rolled over.
 */
export function instantArgument(option: string, value: string): Date {
  const match = ISO_INSTANT.exec(value);
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = (match ?? [])
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)));
  const date = new Date(Date.UTC(year!, month! - 1, day));
  const valid =
    match !== null &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month! - 1 &&
    date.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 23 &&
    offsetMinutes <= 59;
  if (!valid) {
    throw new UsageError(`${option} "${value}" is not an ISO 8601 date-time with an offset, such as 2027-03-01T00:00:00Z`);
  }
  return new Date(value);
}

/** A connection string with its password left out, for messages. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.username ? `${parsed.username}@` : ''}${parsed.host}${parsed.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}
