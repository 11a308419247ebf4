// A barrier for parties that take numbered steps together: each waits at a step until every party
// still expected has reached it, and once one party fails, every party waiting (or arriving later)
// fails too. `regions_fail: all` uses it so that no region moves to the next traffic step alone.
import { StepGateFailed } from './health.js';

export class StepBarrier {
  private readonly arrived = new Map<number, Set<string>>();
  private readonly waiting = new Map<number, Array<{ resolve: () => void; reject: (e: Error) => void }>>();
  private failure: string | undefined;
  private readonly expected: Set<string>;

  constructor(parties: string[]) {
    this.expected = new Set(parties);
  }

  /** Resolves once every party still expected has arrived at `step`; rejects once any has failed. */
  arrive(party: string, step: number): Promise<void> {
    if (this.failure) return Promise.reject(this.stopped());
    const here = this.arrived.get(step) ?? new Set<string>();
    here.add(party);
    this.arrived.set(step, here);
    const waited = new Promise<void>((resolve, reject) => {
      this.waiting.set(step, [...(this.waiting.get(step) ?? []), { resolve, reject }]);
    });
    this.release();
    return waited;
  }

  /** `party` takes no (more) steps: nobody waits for it. */
  leave(party: string): void {
    this.expected.delete(party);
    this.release();
  }

  /** `party` failed: nobody steps further. */
  fail(party: string): void {
    if (this.failure) return;
    this.failure = party;
    for (const list of this.waiting.values()) for (const w of list) w.reject(this.stopped());
    this.waiting.clear();
  }

  /** Lets every step go that all the parties still expected have reached. */
  private release(): void {
    for (const [step, list] of this.waiting) {
      const here = this.arrived.get(step)!;
      if ([...this.expected].every((party) => here.has(party))) {
        for (const w of list) w.resolve();
        this.waiting.delete(step);
      }
    }
  }

  private stopped(): StepGateFailed {
    return new StepGateFailed(
      `${this.failure} failed, and with \`regions_fail: all\` the regions take each step together.`,
    );
  }
}
