// The one way Runway writes plain lines to the job log. The runner acts on a line that starts with
// `::` (after trimming) and on `##[` anywhere in one, and CR, LF and CRLF all end a line; every line
// written here is split as the runner splits it and neutralised, whatever it holds (an API's error
// text, a probe's answer, Docker's output), so only @actions/core's own commands (masks, groups,
// annotations, which escape their data) are ever acted on. Masks stay in force throughout: nothing
// is written between `::stop-commands::` and its release, when the runner would ignore a new mask.
import * as core from '@actions/core';
import { logLines, neutraliseLogLine } from './untrusted.js';

/** Writes `text`, each of its lines neutralised. */
export function info(text: string): void {
  for (const line of logLines(text)) core.info(neutraliseLogLine(line));
}

/** A writer for a stream of output (Docker's): whole lines are written as they complete. */
export function lineWriter(write: (line: string) => void = info): {
  push(chunk: string): void;
  end(): void;
} {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk;
      // A CR at the very end may be the first half of CRLF: wait for what follows.
      const cut = Math.max(pending.lastIndexOf('\n'), pending.lastIndexOf('\r', pending.length - 2));
      if (cut < 0) return;
      const done = pending.slice(0, cut + 1);
      pending = pending.slice(cut + 1);
      for (const line of logLines(done.replace(/(\r\n|\r|\n)$/, ''))) write(line);
    },
    end() {
      if (pending) write(pending.replace(/(\r\n|\r|\n)$/, ''));
      pending = '';
    },
  };
}
