// Errors a user can act on: what went wrong, and what to change so it works.

export class RunwayError extends Error {
  /** What the user should do, printed after the message. */
  readonly fix: string | undefined;
  constructor(message: string, fix?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunwayError';
    this.fix = fix;
  }
}

/** A bad input value: names the input, shows what was given (masked when secret) and what is accepted. */
export class InputError extends RunwayError {
  readonly input: string;
  constructor(input: string, given: string, accepted: string, options: { secret?: boolean } = {}) {
    const shown = options.secret ? '***' : JSON.stringify(given);
    super(`Input '${input}' is invalid: got ${shown}.`, `Accepted: ${accepted}`);
    this.name = 'InputError';
    this.input = input;
  }
}

/**
 * Every bad input of a run at once, so one failed run lists every fix. `problems` are each input's
 * own error, in the order the inputs were read.
 */
export class InputErrors extends RunwayError {
  readonly problems: RunwayError[];
  constructor(problems: RunwayError[]) {
    const inputs = [...new Set(problems.map((p) => (p instanceof InputError ? p.input : undefined)))];
    const named = inputs.filter((i): i is string => i !== undefined);
    super(
      `${problems.length} inputs are invalid${named.length ? ` (${named.join(', ')})` : ''}:\n${problems
        .map((p) => `- ${describeError(p).replace(/\n/g, '\n  ')}`)
        .join('\n')}`,
    );
    this.name = 'InputErrors';
    this.problems = problems;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof RunwayError) return err.fix ? `${err.message}\nFix: ${err.fix}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The error's first line: what went wrong, without its fix, for a message that goes on. */
export function describeErrorBriefly(err: unknown): string {
  return describeError(err).split('\n')[0]!;
}

/** What went wrong and its fix, one entry per problem: every bad input of an InputErrors. */
export function problemsOf(err: unknown): Array<{ message: string; fix: string | undefined }> {
  if (err instanceof InputErrors) return err.problems.flatMap(problemsOf);
  if (err instanceof RunwayError) return [{ message: err.message, fix: err.fix }];
  return [{ message: err instanceof Error ? err.message : String(err), fix: undefined }];
}
