// The undo stack of a rollout: each phase that changes something registers how to take that change
// back before making it, and any failure after the first change unwinds the stack, newest first.
// One undo that fails does not stop the others; what could not be undone is reported. Undos run
// against a deadline of their own, since the step's may be what ran out.
import type { Deadline } from './deadline.js';

export interface UndoStep {
  /** What this step puts back, for the log ("the traffic split put back as it was"). */
  name: string;
  /** Resolves to whether it changed anything (false: there was nothing of Runway's to undo). */
  run: (deadline: Deadline) => Promise<boolean>;
}

export interface UnwindResult {
  /** The undos that changed something. */
  undone: string[];
  failed: Array<{ name: string; error: unknown }>;
}

export class UndoStack {
  private readonly steps: UndoStep[] = [];

  push(name: string, run: (deadline: Deadline) => Promise<boolean>): void {
    this.steps.push({ name, run });
  }

  get empty(): boolean {
    return this.steps.length === 0;
  }

  /** Runs every registered undo, newest first, and empties the stack. */
  async unwind(log: (line: string) => void, deadline: Deadline): Promise<UnwindResult> {
    const result: UnwindResult = { undone: [], failed: [] };
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        if (await step.run(deadline)) {
          log(`undo: ${step.name}`);
          result.undone.push(step.name);
        }
      } catch (error) {
        log(`undo failed: ${step.name}: ${error instanceof Error ? error.message : String(error)}`);
        result.failed.push({ name: step.name, error });
      }
    }
    return result;
  }

  /** Forgets the registered undos once the rollout has succeeded. */
  clear(): void {
    this.steps.length = 0;
  }
}
