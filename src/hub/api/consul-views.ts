/**
 * The JSON shapes Consul answers with, built from InstanceTable entries. The hub is one agent
 * on one node ("switchboard-hub" in datacenter "dc1"), so every service sits on that node.
 */
import { instanceToConsul } from '../../discovery/consul/mapping.ts';
import type { TableEntry } from '../../discovery/instance-table.ts';
import type { CheckInfo, ConsulCheckBook } from './consul-checks.ts';

export const DATACENTER = 'dc1';
export const NODE_NAME = 'switchboard-hub';

export interface ConsulNode {
  readonly id: string;
  /** The agent's address as the caller reached it. */
  readonly address: string;
}

interface ServiceFields {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Meta: Record<string, string>;
  Port: number;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
}

/** The Consul fields of an entry; an instance Consul could not hold shows without its Meta. */
export function serviceFields(entry: TableEntry): ServiceFields {
  const { instance } = entry;
  let fields: ReturnType<typeof instanceToConsul>;
  try {
    fields = instanceToConsul(instance);
  } catch {
    const [first] = instance.endpoints;
    fields = {
      id: instance.id,
      name: instance.service,
      address: first?.host ?? '',
      port: first?.port ?? 0,
      tags: [],
      meta: {},
    };
  }
  return {
    ID: fields.id,
    Service: fields.name,
    Tags: fields.tags,
    Address: fields.address,
    Meta: fields.meta,
    Port: fields.port,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
  };
}

export function nodeView(node: ConsulNode) {
  return {
    ID: node.id,
    Node: NODE_NAME,
    Address: node.address,
    Datacenter: DATACENTER,
    TaggedAddresses: { lan: node.address, wan: node.address },
    Meta: {},
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

/** The node's own check, which Consul lists with every service on the node. */
function serfHealth() {
  return {
    Node: NODE_NAME,
    CheckID: 'serfHealth',
    Name: 'Serf Health Status',
    Status: 'passing',
    Notes: '',
    Output: 'Agent alive and reachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

export function checkView(entry: TableEntry, check: CheckInfo, tags: string[]) {
  return {
    Node: NODE_NAME,
    CheckID: check.checkId,
    Name: check.name,
    Status: entry.health,
    Notes: check.notes,
    Output: entry.output,
    ServiceID: entry.instance.id,
    ServiceName: entry.instance.service,
    ServiceTags: tags,
    Type: 'ttl',
    CreateIndex: entry.modifyIndex,
    ModifyIndex: entry.modifyIndex,
  };
}

/** One element of GET /v1/health/service/<name>. */
export function healthEntryView(entry: TableEntry, node: ConsulNode, book: ConsulCheckBook) {
  const service = serviceFields(entry);
  const check = book.describe(entry);
  return {
    Node: nodeView(node),
    Service: { ...service, CreateIndex: entry.modifyIndex, ModifyIndex: entry.modifyIndex },
    Checks: check ? [serfHealth(), checkView(entry, check, service.Tags)] : [serfHealth()],
  };
}

/** One element of GET /v1/catalog/service/<name>: node and service flattened. */
export function catalogEntryView(entry: TableEntry, node: ConsulNode) {
  const s = serviceFields(entry);
  return {
    ID: node.id,
    Node: NODE_NAME,
    Address: node.address,
    Datacenter: DATACENTER,
    TaggedAddresses: { lan: node.address, wan: node.address },
    NodeMeta: {},
    ServiceKind: '',
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags,
    ServiceAddress: s.Address,
    ServiceMeta: s.Meta,
    ServicePort: s.Port,
    ServiceWeights: s.Weights,
    ServiceEnableTagOverride: false,
    CreateIndex: entry.modifyIndex,
    ModifyIndex: entry.modifyIndex,
  };
}

/** One value of GET /v1/agent/services. */
export function agentServiceView(entry: TableEntry) {
  return { ...serviceFields(entry), Datacenter: DATACENTER };
}

/** GET /v1/agent/self, enough for clients that ask who the agent is. */
export function agentSelfView(node: ConsulNode) {
  return {
    Config: {
      Datacenter: DATACENTER,
      NodeName: NODE_NAME,
      NodeID: node.id,
      Server: true,
      Revision: 'switchboard-hub',
      Version: '1.17.0',
    },
    Member: {
      Name: NODE_NAME,
      Addr: node.address,
      Port: 8301,
      Tags: { dc: DATACENTER, role: 'consul' },
      Status: 1,
    },
    Meta: {},
  };
}
