// The executor: applies a plan's steps in order, and takes them back on any failure. For each step
// it checks the deadline, asks for approval, records the step's undo just before its change is
// sent, applies the change, and runs the check that must pass before the next step. On a failure
// the recorded undos run newest first, each within the undo grace period; one undo that fails does
// not stop the others. It knows nothing of what the steps mean: a StepRunner does each one.
import { describeErrorBriefly } from '../errors.js';
import type { Deadline } from '../common/deadline.js';
import type { Timeline } from '../common/timeline.js';
import type { Change, Check, Step, Undo } from './plan.js';

/** Does what the plan's data describes, against the service. */
export interface StepRunner {
  /**
   * Applies a change; calls `beforeSend` just before sending it (never when nothing is sent).
   * Resolves to why nothing was sent, when the step's skip condition held.
   */
  apply(change: Change, beforeSend: () => void): Promise<{ skipped?: string }>;
  /** Throws when the check fails. */
  check(check: Check): Promise<void>;
  /** Takes a change back; resolves to whether it changed anything. */
  undo(undo: Undo, deadline: Deadline): Promise<boolean>;
  /** How an undo is named in the log ("the traffic split put back as it was"). */
  undoName(undo: Undo): string;
}

export interface ExecutorOptions {
  deadline: Deadline;
  timeline: Timeline;
  log: (line: string) => void;
  /** Called before each step; a rejection fails the step (multi-region coordination waits here). */
  beforeStep?: (step: Step) => Promise<void>;
}

export interface UnwindResult {
  /** The undos that changed something. */
  undone: string[];
  failed: Array<{ name: string; error: unknown }>;
}

/** A step that failed, with the error that failed it. */
export class StepFailed extends Error {
  constructor(
    readonly step: Step,
    readonly error: unknown,
  ) {
    super(`${step.phase}: ${describeErrorBriefly(error)}`, { cause: error });
    this.name = 'StepFailed';
  }
}

export class Executor {
  private readonly journal: Undo[] = [];

  constructor(
    private readonly runner: StepRunner,
    private readonly options: ExecutorOptions,
  ) {}

  /** Whether any change has been recorded as made (and so would be undone). */
  get changed(): boolean {
    return this.journal.length > 0;
  }

  /** Runs the steps in order; throws StepFailed at the first that fails, with its undos still held. */
  async run(steps: Step[]): Promise<void> {
    for (const step of steps) {
      try {
        await this.options.timeline.time(step.phase, () => this.runStep(step));
      } catch (error) {
        if (step.onFailure !== 'warn') throw new StepFailed(step, error);
        this.options.log(
          `${step.phase} failed, which changes nothing of the outcome: ${describeErrorBriefly(error)}`,
        );
      }
    }
  }

  private async runStep(step: Step): Promise<void> {
    const { runner, options } = this;
    options.deadline.check(`before ${step.doing}`);
    await options.beforeStep?.(step);
    if (step.approval) await runner.check(step.approval);
    if (step.change) {
      // A change re-planned after a conflict is sent again, but it is one change with one undo.
      let recorded = false;
      const { skipped } = await runner.apply(step.change, () => {
        if (step.undo && !recorded) this.journal.push(step.undo);
        recorded = true;
      });
      if (skipped) options.log(`${step.phase}: nothing to change (${skipped})`);
    }
    if (step.check) await runner.check(step.check);
  }

  /** Runs every recorded undo, newest first, and forgets them. */
  unwind(grace: Deadline): Promise<UnwindResult> {
    return this.runUndos(this.journal.splice(0).reverse(), grace);
  }

  /** Runs `undos` in order instead of the recorded ones, which are forgotten. */
  replaceAndRun(undos: Undo[], grace: Deadline): Promise<UnwindResult> {
    this.journal.length = 0;
    return this.runUndos(undos, grace);
  }

  /** Forgets the recorded undos once the rollout stands. */
  forget(): void {
    this.journal.length = 0;
  }

  private async runUndos(undos: Undo[], grace: Deadline): Promise<UnwindResult> {
    const result: UnwindResult = { undone: [], failed: [] };
    for (const undo of undos) {
      const name = this.runner.undoName(undo);
      try {
        if (await this.runner.undo(undo, grace)) {
          this.options.log(`undo: ${name}`);
          result.undone.push(name);
        }
      } catch (error) {
        this.options.log(`undo failed: ${name}: ${describeErrorBriefly(error)}`);
        result.failed.push({ name, error });
      }
    }
    return result;
  }
}
