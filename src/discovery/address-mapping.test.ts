import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AddressConventions,
  addressEndpoints,
  checkReservedMetadata,
  firstEndpointAddress,
  readAddressed,
  reservedMetadata,
} from './address-mapping.ts';
import type { Endpoint, ServiceInstance } from './instance.ts';

const grpcAlways: AddressConventions = {
  registry: 'Curator',
  versionKey: 'switchboard-version',
  zoneKey: 'switchboard-zone',
  transport: 'grpc',
  listEndpoints: 'always',
};
const httpWhenNeeded: AddressConventions = {
  registry: 'Eureka',
  versionKey: 'version',
  zoneKey: 'zone',
  transport: 'http',
  listEndpoints: 'when-needed',
};

function instance(endpoints: Endpoint[], extra: Partial<ServiceInstance> = {}): ServiceInstance {
  return { service: 's', id: 'i', endpoints, metadata: {}, ...extra };
}

describe('single-address mapping', () => {
  it('takes the first endpoint as the address, its port as the TLS port with TLS', () => {
    assert.deepEqual(firstEndpointAddress([{ transport: 'native', host: 'h', port: 1 }]), {
      host: 'h',
      port: 1,
    });
    assert.deepEqual(firstEndpointAddress([{ transport: 'grpc', host: 'h', port: 2, tls: true }]), {
      host: 'h',
      tlsPort: 2,
    });
    assert.throws(() => firstEndpointAddress([]), TypeError);
  });

  it('reads an address as endpoints of the given transport, plain port first', () => {
    assert.deepEqual(addressEndpoints({ host: 'h', port: 80, tlsPort: 443 }, 'http'), [
      { transport: 'http', host: 'h', port: 80 },
      { transport: 'http', host: 'h', port: 443, tls: true },
    ]);
    assert.deepEqual(addressEndpoints({ host: 'h' }, 'grpc'), []);
  });

  it('writes the endpoint list always, or only when the address says something else', () => {
    const plainHttp = instance([{ transport: 'http', host: 'h', port: 80 }]);
    const address = firstEndpointAddress(plainHttp.endpoints);
    assert.deepEqual(reservedMetadata(plainHttp, address, httpWhenNeeded), {});
    assert.deepEqual(reservedMetadata(plainHttp, address, grpcAlways), {
      'switchboard-endpoints': 'http://h:80',
    });
    // The address reads back as gRPC, which the instance does not speak: the list must go along.
    assert.deepEqual(reservedMetadata(plainHttp, address, { ...grpcAlways, listEndpoints: 'when-needed' }), {
      'switchboard-endpoints': 'http://h:80',
    });
  });

  it('carries version and zone under the conventions keys, and reads them back', () => {
    const original = instance(
      [
        { transport: 'grpc', host: '::1', port: 1 },
        { transport: 'native', host: '::1', port: 2, tls: true },
      ],
      { version: '1.2', zone: 'eu-1a', metadata: { team: 'a' } },
    );
    for (const conventions of [grpcAlways, httpWhenNeeded]) {
      const address = firstEndpointAddress(original.endpoints);
      const reserved = reservedMetadata(original, address, conventions);
      assert.equal(reserved[conventions.versionKey], '1.2');
      assert.equal(reserved[conventions.zoneKey], 'eu-1a');
      const read = readAddressed({ ...original.metadata, ...reserved }, () => address, conventions);
      assert.deepEqual({ ...original, ...read }, original);
    }
  });

  it('reads a foreign instance at its address in the default transport, asking for it only then', () => {
    const read = readAddressed(
      { other: 'x', version: '' },
      () => ({ host: 'h', tlsPort: 8443 }),
      httpWhenNeeded,
    );
    assert.deepEqual(read, {
      endpoints: [{ transport: 'http', host: 'h', port: 8443, tls: true }],
      metadata: { other: 'x' },
    });
    const listed = readAddressed(
      { 'switchboard-endpoints': 'native://h:1' },
      () => assert.fail('the address is not needed'),
      grpcAlways,
    );
    assert.deepEqual(listed.endpoints, [{ transport: 'native', host: 'h', port: 1 }]);
  });

  it('names the key of a malformed endpoint list', () => {
    assert.throws(
      () =>
        readAddressed({ 'switchboard-endpoints': 'ftp://h:1' }, () => ({ host: 'h' }), grpcAlways, 'Meta'),
      (err: Error) => err instanceof TypeError && err.message.startsWith('Meta.switchboard-endpoints: '),
    );
  });

  it('refuses own metadata under a reserved key', () => {
    const endpoints: Endpoint[] = [{ transport: 'grpc', host: 'h', port: 1 }];
    assert.doesNotThrow(() =>
      checkReservedMetadata(instance(endpoints, { metadata: { k: 'v' } }), grpcAlways),
    );
    for (const key of ['switchboard-endpoints', 'switchboard-version', 'switchboard-zone', 'extra']) {
      assert.throws(
        () => checkReservedMetadata(instance(endpoints, { metadata: { [key]: 'v' } }), grpcAlways, ['extra']),
        (err: Error) => err instanceof TypeError && err.message.startsWith(`metadata.${key}: reserved`),
      );
    }
  });
});
