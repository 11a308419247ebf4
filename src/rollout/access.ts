// Phase 3, public access (allow_unauthenticated): the allUsers invoker binding added or removed.
// Its undo puts the invoker binding back as it was.
import { applyPublicAccess, restorePublicAccess } from '../deploy/apply.js';
import type { Rollout } from './context.js';

export async function setPublicAccess(r: Rollout): Promise<void> {
  const allow = r.settings.allowUnauthenticated;
  if (allow === undefined) return;
  r.settings.deadline.check('before changing who may invoke the service');
  const { client, identity } = r.deps;
  await applyPublicAccess(client, r.ref, allow, identity, (previous) =>
    r.undo.push('who may invoke the service put back as it was', async () => {
      if (await client.getService(r.ref)) await restorePublicAccess(client, r.ref, previous);
    }),
  );
}
