// Who may call a service's URLs, as Cloud Run decides it: anyone when `allUsers` holds
// run.routes.invoke (or invoker IAM is disabled); otherwise a Google-signed ID token whose audience
// is the URL called (or the service URL) and whose account holds run.routes.invoke on the service.
import type { EmulatorContext } from '../context.js';
import { bearerToken } from '../http.js';
import type { Principal } from '../iam.js';
import { serviceName, type ServiceRecord } from './records.js';
import type { Gate, GateRequest } from './infrastructure.js';

const forbidden = (path: string): { allow: false; status: number; message: string } => ({
  allow: false,
  status: 403,
  message: `Your client does not have permission to get URL ${path} from this server.`,
});

export function invokerGate(ctx: EmulatorContext, record: ServiceRecord): Gate {
  return async (req: GateRequest, url: string) => {
    if (record.spec.invokerIamDisabled) return { allow: true };
    const resource = serviceName(record.project, record.location, record.id);
    const bindings = record.policy.bindings;
    const anonymous: Principal = { kind: 'anonymous' };
    if (ctx.world.allowed(anonymous, 'run.routes.invoke', resource, bindings)) return { allow: true };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const token = bearerToken(req.headers);
    if (!token) return forbidden(path);
    let email: string | undefined;
    try {
      const audience = [url, record.router.url ?? url, ...((record.spec.customAudiences as string[]) ?? [])];
      const claims = await ctx.googleKey.verify(token, { audience });
      email = typeof claims.email === 'string' ? claims.email : undefined;
    } catch {
      return { allow: false, status: 401, message: 'The access token could not be verified' };
    }
    if (!email) return forbidden(path);
    const caller: Principal = { kind: 'serviceAccount', email };
    if (!ctx.world.allowed(caller, 'run.routes.invoke', resource, bindings)) return forbidden(path);
    return { allow: true };
  };
}
