// deploy_timeout as one deadline for the whole step: every wait (operations, health checks) is
// bounded by it, and undoing a change gets a short grace period of its own so that Runway never
// reports a failure while a traffic change it made is still landing.
import { RunwayError } from '../errors.js';

/**
 * How long waiting for an in-flight change may take, and then, separately, undoing. Two minutes;
 * RUNWAY_UNDO_GRACE_SECONDS changes it (the end-to-end tests shorten it to exercise both limits).
 */
export function undoGraceSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const configured = Number(env.RUNWAY_UNDO_GRACE_SECONDS);
  return Number.isInteger(configured) && configured > 0 ? configured : 120;
}

export class Deadline {
  constructor(readonly at: number) {}

  static in(seconds: number, now = Date.now()): Deadline {
    return new Deadline(now + seconds * 1000);
  }

  remainingMs(now = Date.now()): number {
    return Math.max(0, this.at - now);
  }

  expired(now = Date.now()): boolean {
    return now >= this.at;
  }

  /** The earlier of this deadline and `ms` from now. */
  within(ms: number, now = Date.now()): Deadline {
    return new Deadline(Math.min(this.at, now + ms));
  }

  /** Fails the step when the deadline has passed, naming what was about to happen. */
  check(before: string): void {
    if (this.expired()) throw new DeadlineExceeded(before);
  }
}

export class DeadlineExceeded extends RunwayError {
  constructor(during: string) {
    super(
      `deploy_timeout passed ${during}.`,
      'Raise `deploy_timeout`, or shorten what it has to cover (the build, `health_check_timeout`, a slow-starting container).',
    );
    this.name = 'DeadlineExceeded';
  }
}
