// The seed's email service with the seed's own library: amqplib's
// consume('order.created', ...) printing "Sending email for order: <id>" and
// acking each message, as the seed wrote it; parameterised so tests can run
// it against a private broker and stop it after a number of messages.
//   node amqplib_consumer.js [options]
//     --url URL           broker (default $COURIER_AMQP_URL, else amqp://localhost)
//     --count N           exit 0 after N messages (default 0: run until killed)
//     --timeout S         exit 1 when N messages have not come within S seconds
//                         (default 60; 0: no limit)
//     --queue NAME        queue mode, the seed's: the queue to consume
//                         (default order.created)
//     --exchange NAME     exchange mode instead: a durable queue named after
//                         the group, bound to exchange NAME (asserted with TYPE)
//     --group NAME        (default email-service)
//     --type TYPE         fanout (default), topic or direct
//     --binding-key K     (default "", or "#" for a topic exchange and NAME
//                         for a direct one)
//     --prefetch N        basic.qos before consuming (the seed sets none)
//     --properties        after each message, a line "properties: {...}" with
//                         its AMQP properties and delivery fields, as JSON
// Prints "consuming QUEUE" once the consumer is registered (publish after
// that line in exchange mode, or the messages have no queue to go to), then a
// line per message. Duplicates count: N is messages, not distinct orders.
// Connects with {noDelay: true}.
'use strict';
const { parseArgs } = require('node:util');
let amqp;
try {
  amqp = require('amqplib');
} catch (e) {
  console.error(`amqplib_consumer: ${e.message}\nInstall the pinned peers first: npm ci --prefix tests/peers`);
  process.exit(1);
}

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.COURIER_AMQP_URL || 'amqp://localhost' },
    count: { type: 'string', default: '0' },
    timeout: { type: 'string', default: '60' },
    queue: { type: 'string', default: 'order.created' },
    exchange: { type: 'string' },
    group: { type: 'string', default: 'email-service' },
    type: { type: 'string', default: 'fanout' },
    'binding-key': { type: 'string' },
    prefetch: { type: 'string' },
    properties: { type: 'boolean', default: false },
  },
});
const count = Number(opt.count);
const timeout = Number(opt.timeout);
if (!Number.isInteger(count) || count < 0 || !(timeout >= 0)) {
  console.error('amqplib_consumer: --count and --timeout must be numbers >= 0');
  process.exit(2);
}

async function main() {
  const connection = await amqp.connect(opt.url, { noDelay: true });
  const channel = await connection.createChannel();
  if (opt.prefetch !== undefined) await channel.prefetch(Number(opt.prefetch));

  let queue = opt.queue;
  if (opt.exchange === undefined) {
    await channel.assertQueue(queue); // the seed's declaration
  } else {
    const defaultKey = { fanout: '', topic: '#' }[opt.type] ?? opt.exchange;
    await channel.assertExchange(opt.exchange, opt.type);
    queue = opt.group;
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, opt.exchange, opt['binding-key'] ?? defaultKey);
  }

  let received = 0;
  let finish;
  const done = new Promise((resolve) => {
    finish = resolve;
  });
  // The seed's code, counting.
  await channel.consume(queue, (msg) => {
    if (msg === null) {
      // The broker cancelled the consumer (the queue was deleted).
      finish(new Error(`consumer of ${queue} cancelled by the broker`));
      return;
    }
    // After the count, leave the rest unacked: closing the channel requeues
    // them for whoever consumes next.
    if (count > 0 && received === count) return;
    let order;
    try {
      order = JSON.parse(msg.content.toString());
    } catch (e) {
      finish(new Error(`not a JSON order: ${JSON.stringify(msg.content.toString())}`));
      return;
    }
    console.log(`Sending email for order: ${order.id}`);
    if (opt.properties) {
      console.log(`properties: ${JSON.stringify({ ...msg.properties, fields: msg.fields })}`);
    }
    channel.ack(msg);
    if (count > 0 && ++received === count) finish(null);
  });
  console.log(`consuming ${queue}`);

  let timer;
  if (count > 0 && timeout > 0) {
    timer = setTimeout(
      () => finish(new Error(`${received} of ${count} messages within ${timeout} s`)),
      timeout * 1000,
    );
  }
  const error = await done;
  clearTimeout(timer);
  // Closing the channel sends the acks before it: none is left unsent.
  await channel.close();
  await connection.close();
  if (error) throw error;
}

main().catch((e) => {
  console.error(`amqplib_consumer: ${e.message || e}`);
  process.exit(1);
});
