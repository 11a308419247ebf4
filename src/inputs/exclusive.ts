// gcloud's mutually exclusive flag groups, checked one way for every input that holds gcloud flags
// (`flags` for `run deploy`, `update_traffic_flags` for `run services update-traffic`): at most one
// alternative of a group per command, an alternative being flags that may go together.
import { RunwayError } from '../errors.js';

/** One group: its alternatives, and what to do when keeping one needs more than "keep one". */
export interface ExclusiveGroup {
  of: string[][];
  fix?: string;
}

/**
 * Refuses two alternatives of one of `groups` among `given` (one command's flags), naming the input,
 * each flag given (by `source`, default itself) and the group; `fix` unless the group has its own.
 */
export function refuseExclusive(
  groups: ExclusiveGroup[],
  given: string[],
  input: string,
  fix: string,
  source = (flag: string): string => flag,
): void {
  for (const group of groups) {
    const present = group.of.filter((alternative) => alternative.some((flag) => given.includes(flag)));
    if (present.length > 1) {
      const named = present.flatMap((alternative) => alternative.filter((flag) => given.includes(flag)));
      throw new RunwayError(
        `\`${input}\` gives ${named.map(source).join(' and ')}: gcloud takes at most one of ${group.of.map((a) => a.join(' with ')).join(', ')}.`,
        group.fix ?? fix,
      );
    }
  }
}
