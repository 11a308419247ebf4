// gcloud's Direct VPC egress flags in `flags` (--network, --subnet, --network-tags, --clear-network,
// --clear-network-tags), read into spec.directVpc with gcloud's rules on combining them: --clear-network
// goes with none of the others, and --network-tags not with --clear-network-tags (gcloud's argument
// groups, command_lib/run/flags.py AddVpcNetworkGroupFlagsForUpdate). Each handler checks against
// what is already read, so the order of the flags does not matter. Planning is deploy/network.ts's.
import { RunwayError } from '../errors.js';
import { gcloudList } from './gcloud-lists.js';
import type { DirectVpcFlags, ServiceSpec } from './spec.js';

function exclusive(a: string, b: string): RunwayError {
  return new RunwayError(
    `\`flags\` has both ${a} and ${b}: at most one of them may be given (as gcloud says).`,
    a === '--clear-network' || b === '--clear-network'
      ? 'Remove --clear-network to set the network, or the other flag to disconnect the service from its network.'
      : 'Keep one of them.',
  );
}

function directVpc(spec: ServiceSpec): DirectVpcFlags {
  return (spec.directVpc ??= {});
}

function setting(spec: ServiceSpec, flag: string): DirectVpcFlags {
  const vpc = directVpc(spec);
  if (vpc.clear) throw exclusive('--clear-network', flag);
  return vpc;
}

export function setNetwork(spec: ServiceSpec, raw: string): void {
  setting(spec, '--network').network = raw;
}

export function setSubnet(spec: ServiceSpec, raw: string): void {
  setting(spec, '--subnet').subnet = raw;
}

export function setNetworkTags(spec: ServiceSpec, raw: string, name: string): void {
  const vpc = setting(spec, '--network-tags');
  if (vpc.tags?.length === 0) throw exclusive('--network-tags', '--clear-network-tags');
  vpc.tags = [...(vpc.tags ?? []), ...gcloudList(name, raw)];
}

export function clearNetworkTags(spec: ServiceSpec): void {
  const vpc = setting(spec, '--clear-network-tags');
  if (vpc.tags?.length) throw exclusive('--network-tags', '--clear-network-tags');
  vpc.tags = [];
}

export function clearNetwork(spec: ServiceSpec): void {
  const vpc = directVpc(spec);
  const other = (['network', 'subnet', 'tags'] as const).find((k) => vpc[k] !== undefined);
  if (other)
    throw exclusive(
      '--clear-network',
      other === 'tags' ? '--network-tags' : `--${other === 'subnet' ? 'subnet' : 'network'}`,
    );
  vpc.clear = true;
}
