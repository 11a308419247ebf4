// IAM policies as Google answers getIamPolicy, and the one question Runway asks of them: does this
// policy let a service account read a secret's versions (secretmanager.versions.access)?

export interface IamBinding {
  role: string;
  members?: string[];
  condition?: { expression?: string; title?: string };
}

export interface IamPolicy {
  version?: number;
  etag?: string;
  bindings?: IamBinding[];
}

/**
 * The predefined roles that hold secretmanager.versions.access, per Google's Secret Manager roles
 * page: Secret Accessor, Secret Manager Admin, and the basic Owner role. Basic Editor does not.
 */
export const SECRET_ACCESS_ROLES: readonly string[] = [
  'roles/secretmanager.secretAccessor',
  'roles/secretmanager.admin',
  'roles/owner',
];

/** What a policy says about an account reading secrets: a binding that grants, one that may, or none. */
export type SecretAccess =
  | { kind: 'granted'; role: string; member: string }
  | { kind: 'possible'; role: string; member: string; why: string }
  | { kind: 'none' };

/** Custom roles (projects/P/roles/R, organizations/O/roles/R): their permissions are not in the policy. */
function isCustomRole(role: string): boolean {
  return /^(projects|organizations)\/[^/]+\/roles\//.test(role);
}

/** Members that may include the account, but whose membership a policy does not show. */
function opaqueMember(member: string): boolean {
  return /^(group|domain|principalSet|principal):/.test(member);
}

/**
 * Whether `policy` grants `account` secretmanager.versions.access. A binding whose role or member
 * cannot be evaluated from the policy alone (a custom role; a group, domain or workforce/workload
 * set; a condition) counts as possibly granting: Runway refuses only what it can see is missing.
 */
export function secretAccessIn(policy: IamPolicy, account: string): SecretAccess {
  const self = `serviceaccount:${account.toLowerCase()}`;
  let possible: SecretAccess | undefined;
  for (const binding of policy.bindings ?? []) {
    const known = SECRET_ACCESS_ROLES.includes(binding.role);
    const custom = isCustomRole(binding.role);
    if (!known && !custom) continue;
    for (const member of binding.members ?? []) {
      const exact =
        member.toLowerCase() === self || member === 'allUsers' || member === 'allAuthenticatedUsers';
      const opaque = opaqueMember(member);
      if (!exact && !opaque) continue;
      const reasons = [
        ...(custom ? [`custom role ${binding.role}`] : []),
        ...(opaque ? [`member ${member}`] : []),
        ...(binding.condition
          ? [`condition ${binding.condition.title ?? binding.condition.expression ?? ''}`]
          : []),
      ];
      if (!reasons.length) return { kind: 'granted', role: binding.role, member };
      possible ??= { kind: 'possible', role: binding.role, member, why: reasons.join(', ') };
    }
  }
  return possible ?? { kind: 'none' };
}
