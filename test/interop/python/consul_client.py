"""python-consul 0.7.1 (Debian's python3-consul) against a Consul agent: here, the hub.

Usage: consul_client.py HOST PORT COMMAND ARGS...
  register SERVICE ID SVC_PORT  registers SERVICE with a TTL check and the tag "python"; checks
                                that health.service(passing=True) leaves it out until the check is
                                passed, then passes it and checks that it is listed
  deregister ID                 agent.service.deregister(ID)
  list SERVICE                  prints {"index", "entries"} of health.service(SERVICE, passing=True)
  wait SERVICE COUNT            prints "READY <index>", then runs blocking health.service queries
                                from that index until COUNT instances are passing; prints
                                {"index", "entries", "queries", "seconds"}
Prints JSON on stdout; exits non-zero with the reason on stderr when anything is not as expected.
"""
import json
import sys
import time

import consul

host, port, command, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
c = consul.Consul(host=host, port=port)


def passing(service, **kwargs):
    index, entries = c.health.service(service, passing=True, **kwargs)
    return index, entries


if command == 'register':
    service, service_id, service_port = args[0], args[1], int(args[2])
    check = consul.Check.ttl('30s')
    check['DeregisterCriticalServiceAfter'] = '1m'
    ok = c.agent.service.register(service, service_id=service_id, port=service_port, tags=['python'], check=check)
    assert ok is True, 'register answered %r' % ok
    _, entries = passing(service)
    assert entries == [], 'listed before its check passed: %r' % entries
    _, entries = c.health.service(service)
    statuses = [check['Status'] for check in entries[0]['Checks'] if check['CheckID'] == 'service:' + service_id]
    assert statuses == ['critical'], statuses
    assert c.agent.check.ttl_pass('service:' + service_id, 'alive') is True
    index, entries = passing(service)
    assert [e['Service']['ID'] for e in entries] == [service_id], entries
    services = c.agent.services()
    assert services[service_id]['Tags'] == ['python'], services
    catalog_index, catalog = c.catalog.services()
    assert catalog[service] == ['python'], catalog
    print(json.dumps({'index': index, 'entries': entries}))
elif command == 'deregister':
    assert c.agent.service.deregister(args[0]) is True
    print(json.dumps({'ok': True}))
elif command == 'list':
    index, entries = passing(args[0])
    print(json.dumps({'index': index, 'entries': entries}))
elif command == 'wait':
    service, count = args[0], int(args[1])
    index, entries = passing(service)
    print('READY %s' % index, flush=True)
    started = time.time()
    queries = 0
    while len(entries) < count and time.time() - started < 20:
        index, entries = passing(service, index=index, wait='10s')
        queries += 1
    assert len(entries) == count, 'still %d instances after %d queries' % (len(entries), queries)
    print(json.dumps({'index': index, 'entries': entries, 'queries': queries,
                      'seconds': time.time() - started}))
else:
    sys.exit('unknown command ' + command)
