import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { Contract, createRoot } from './contract.ts';
import { boundTopics, TopicBindings, topicOption } from './topics.ts';

/** A contract from inline .proto text that imports the bundled messaging options. */
function contractOf(source: string): Contract {
  const root = createRoot();
  root.loadSync('switchboard/messaging/v1/options.proto');
  protobuf.parse(source, root, { keepCase: false });
  return new Contract(root);
}

const contract = contractOf(`
  syntax = "proto3";
  package shop;
  import "switchboard/messaging/v1/options.proto";
  message OrderPlaced {
    option (switchboard.messaging.v1.topic) = "shop.orders";
    string id = 1;
    message Line { option (switchboard.messaging.v1.topic) = "shop.lines"; string sku = 1; }
  }
  message Refunded { string id = 1; }
`);

describe('topic bindings', () => {
  it('reads the topic option of a message, nested ones too', () => {
    assert.equal(topicOption(contract, 'shop.OrderPlaced'), 'shop.orders');
    assert.equal(topicOption(contract, '.shop.OrderPlaced.Line'), 'shop.lines');
    assert.equal(topicOption(contract, 'shop.Refunded'), undefined);
    assert.deepEqual(
      boundTopics(contract),
      new Map([
        ['shop.OrderPlaced', 'shop.orders'],
        ['shop.OrderPlaced.Line', 'shop.lines'],
      ]),
    );
  });

  it('falls back to code bindings, then to the full name', () => {
    const bindings = new TopicBindings(contract, { 'shop.Refunded': 'refunds' });
    assert.equal(bindings.topic('shop.OrderPlaced'), 'shop.orders');
    assert.equal(bindings.topic('shop.Refunded'), 'refunds');
    assert.equal(new TopicBindings(contract).topic('shop.Refunded'), 'shop.Refunded');
  });

  it('refuses code bindings that contradict the contract, are empty or name no message', () => {
    assert.throws(
      () => new TopicBindings(contract, { 'shop.OrderPlaced': 'elsewhere' }),
      /bound to topic "shop.orders" by the contract/,
    );
    assert.doesNotThrow(() => new TopicBindings(contract, { 'shop.OrderPlaced': 'shop.orders' }));
    assert.throws(() => new TopicBindings(contract, { 'shop.Refunded': ' ' }), /non-empty string/);
    assert.throws(() => new TopicBindings(contract, { 'shop.Nope': 'x' }), /unknown message shop.Nope/);
    assert.throws(() => new TopicBindings(contract).topic('shop.Nope'), /unknown message/);
  });

  it('refuses an empty topic option', () => {
    const bad = contractOf(`
      syntax = "proto3";
      package bad;
      import "switchboard/messaging/v1/options.proto";
      message E { option (switchboard.messaging.v1.topic) = ""; }
    `);
    assert.throws(() => topicOption(bad, 'bad.E'), /must be a non-empty string/);
  });
});
