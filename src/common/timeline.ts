// How long each stage or phase took, for the job summary: a list of named, timed steps, each
// marked with whether it finished.

export interface TimedStep {
  name: string;
  ms: number;
  ok: boolean;
}

export class Timeline {
  readonly steps: TimedStep[] = [];

  /** Runs `fn` as the step `name`, recording its duration whether it succeeds or throws. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      const result = await fn();
      this.steps.push({ name, ms: Date.now() - started, ok: true });
      return result;
    } catch (err) {
      this.steps.push({ name, ms: Date.now() - started, ok: false });
      throw err;
    }
  }
}
