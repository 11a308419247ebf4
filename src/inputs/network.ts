// gcloud's Direct VPC egress flags in `flags` (--network, --subnet, --network-tags, --clear-network,
// --clear-network-tags), read into spec.directVpc. gcloud's rules on combining them (its argument
// groups, command_lib/run/flags.py AddVpcNetworkGroupFlagsForUpdate: --clear-network goes with none
// of the others, and --network-tags not with --clear-network-tags) are NETWORK_EXCLUSIVE, checked
// with gcloud's other groups before any flag is read. Planning is deploy/network.ts's.
import type { ExclusiveGroup } from './exclusive.js';
import { gcloudList } from './gcloud-lists.js';
import type { DirectVpcFlags, ServiceSpec } from './spec.js';

const CLEAR_NETWORK_FIX =
  'Remove --clear-network to set the network, or the other flag to disconnect the service from its network.';

/** gcloud's exclusive Direct VPC groups, pair by pair, so the message names the pair at fault. */
export const NETWORK_EXCLUSIVE: ExclusiveGroup[] = [
  ...['--network', '--subnet', '--network-tags', '--clear-network-tags'].map((flag) => ({
    of: [['--clear-network'], [flag]],
    fix: CLEAR_NETWORK_FIX,
  })),
  { of: [['--network-tags'], ['--clear-network-tags']] },
];

function directVpc(spec: ServiceSpec): DirectVpcFlags {
  return (spec.directVpc ??= {});
}

export function setNetwork(spec: ServiceSpec, raw: string): void {
  directVpc(spec).network = raw;
}

export function setSubnet(spec: ServiceSpec, raw: string): void {
  directVpc(spec).subnet = raw;
}

export function setNetworkTags(spec: ServiceSpec, raw: string, name: string): void {
  const vpc = directVpc(spec);
  vpc.tags = [...(vpc.tags ?? []), ...gcloudList(name, raw)];
}

export function clearNetworkTags(spec: ServiceSpec): void {
  directVpc(spec).tags = [];
}

export function clearNetwork(spec: ServiceSpec): void {
  directVpc(spec).clear = true;
}
