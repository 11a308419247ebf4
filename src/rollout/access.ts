// Phase 3, public access (allow_unauthenticated): the allUsers invoker binding added or removed.
// Its undo reverses only that: allUsers taken out again (or put back), whatever else the policy
// holds by then.
import { applyPublicAccess, revertPublicAccess } from '../deploy/apply.js';
import type { Rollout } from './context.js';

/** Resolves to whether allUsers may now invoke the service; undefined when access was left alone. */
export async function setPublicAccess(r: Rollout): Promise<boolean | undefined> {
  const allow = r.settings.allowUnauthenticated;
  if (allow === undefined) return undefined;
  r.settings.deadline.check('before changing who may invoke the service');
  const { client, identity } = r.deps;
  await applyPublicAccess(client, r.ref, allow, identity, () =>
    r.undo.push('who may invoke the service put back as it was', async () =>
      (await client.getService(r.ref)) ? revertPublicAccess(client, r.ref, allow) : false,
    ),
  );
  return allow;
}
