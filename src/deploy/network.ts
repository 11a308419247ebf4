// gcloud's Direct VPC flags (spec.directVpc) over a template's VPC access, as `gcloud run deploy`
// changes it (config_changes.py ClearVpcConnectorChange, NetworkInterfacesChange,
// ClearNetworkInterfacesChange): --clear-vpc-connector (spec.clearVpcConnector) first; then each flag given sets its part of
// the one interface or, empty, drops it; an interface left empty goes, and the egress setting with
// it; --clear-network drops both. Then Cloud Run's own rule, checked before anything is sent: "one
// and only one of connector and network_interfaces must be set" (observed:
// googleapis/google-cloud-node#4731).
import { RunwayError } from '../errors.js';
import type { VpcAccess } from '../gcp/run-types.js';
import type { DirectVpcFlags } from '../inputs/spec.js';

type NetworkInterface = NonNullable<VpcAccess['networkInterfaces']>[number];

export function planDirectVpc(live: VpcAccess, flags: DirectVpcFlags): VpcAccess {
  const { networkInterfaces, ...rest } = live;
  if (flags.clear) {
    const { egress: _egress, ...kept } = rest;
    return kept;
  }
  const nic: NetworkInterface = { ...(networkInterfaces?.[0] ?? {}) };
  const set = <K extends keyof NetworkInterface>(key: K, value: NetworkInterface[K] | undefined): void => {
    if (value === undefined) return;
    if (Array.isArray(value) ? value.length : value) nic[key] = value;
    else delete nic[key];
  };
  set('network', flags.network);
  set('subnetwork', flags.subnet);
  set('tags', flags.tags);
  if (Object.keys(nic).length) return { ...rest, networkInterfaces: [nic] };
  const { egress: _egress, ...kept } = rest;
  return kept;
}

/**
 * --clear-vpc-connector: the connector and the egress setting go (config_changes.py
 * ClearVpcConnectorChange). gcloud refuses it when all traffic goes through the connector, unless
 * someone confirms at a prompt, which a workflow cannot (resource_change_validators.py).
 */
export function clearVpcConnector(access: VpcAccess): VpcAccess {
  if (access.egress === 'ALL_TRAFFIC')
    throw new RunwayError(
      'Cannot remove VPC connector with VPC egress set to "all-traffic" (as gcloud says): outbound traffic would go to the public internet. Nothing was changed.',
      'Set --vpc-egress=private-ranges-only (or `vpc_egress: private-ranges-only`) beside --clear-vpc-connector.',
    );
  const { connector: _connector, egress: _egress, ...rest } = access;
  return rest;
}

/** The access as Cloud Run takes it (undefined when there is none), or the error it would give, before it is sent. */
export function checkVpcAccess(access: VpcAccess): VpcAccess | undefined {
  const connector = Boolean(access.connector);
  const network = Boolean(access.networkInterfaces?.length);
  if (!connector && !network) {
    if (access.egress === undefined) return undefined;
    throw new RunwayError(
      'The VPC egress setting (`vpc_egress`, --vpc-egress) needs a way into a VPC network, and the service would have none: Cloud Run takes one and only one of a VPC connector and a network interface. Nothing was changed.',
      'Add a connector (`vpc_connector`, --vpc-connector) or Direct VPC egress (--network and/or --subnet in `flags`), or remove the egress setting.',
    );
  }
  if (connector && network)
    throw new RunwayError(
      `The service would have both a VPC connector (${access.connector}) and Direct VPC egress (a network interface): Cloud Run takes one and only one of them. Nothing was changed.`,
      'Use Direct VPC egress (--network/--subnet) without `vpc_connector`, or keep the connector and add --clear-network to `flags`.',
    );
  return access;
}
