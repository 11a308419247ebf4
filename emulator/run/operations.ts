// Long-running operations (google.longrunning.Operation): created when a change is accepted,
// finished with exactly one of `response` or `error`, and waited on by `:wait`.
import { randomUUID } from 'node:crypto';
import type { Json } from './model.js';

export interface OperationRecord {
  name: string;
  done: boolean;
  /** Carries its own "@type" (clients refuse an Any without one). */
  metadata: Json;
  response?: Json;
  /** google.rpc.Status: numeric code, no status string. */
  error?: { code: number; message: string; details: unknown[] };
  waiters: Array<() => void>;
}

export type Outcome = { response: Json } | { error: { code: number; message: string } };

export class Operations {
  private readonly all = new Map<string, OperationRecord>();

  /** A new pending operation, named projects/P/locations/L/operations/UUID. */
  start(project: string, location: string, metadata: Json): OperationRecord {
    const op: OperationRecord = {
      name: operationName(project, location),
      done: false,
      metadata,
      waiters: [],
    };
    this.all.set(op.name, op);
    return op;
  }

  finish(op: OperationRecord, outcome: Outcome): void {
    op.done = true;
    if ('response' in outcome) op.response = outcome.response;
    else op.error = { ...outcome.error, details: [] };
    for (const wake of op.waiters.splice(0)) wake();
  }

  get(name: string): OperationRecord | undefined {
    return this.all.get(name);
  }

  delete(name: string): void {
    this.all.delete(name);
  }

  /** Operations under projects/P/locations/L/, oldest first. */
  list(prefix: string): OperationRecord[] {
    return [...this.all.values()].filter((o) => o.name.startsWith(prefix));
  }

  records(): OperationRecord[] {
    return [...this.all.values()];
  }

  /** Resolves when the operation is done or the timeout passes (":wait" is best effort). */
  async wait(op: OperationRecord, timeoutMs: number): Promise<void> {
    if (op.done) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      op.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Forgets every operation; anyone still waiting gets an answer now. */
  clear(): void {
    for (const op of this.all.values()) for (const wake of op.waiters.splice(0)) wake();
    this.all.clear();
  }
}

export function operationName(project: string, location: string): string {
  return `projects/${project}/locations/${location}/operations/${randomUUID()}`;
}

export function renderOperation(op: OperationRecord): Json {
  return {
    name: op.name,
    metadata: op.metadata,
    done: op.done,
    ...(op.error ? { error: op.error } : {}),
    ...(op.response ? { response: op.response } : {}),
  };
}
