// The seed's order service, publishing side, with the seed's own library:
// amqplib's assertQueue('order.created') and sendToQueue(...) of the order as
// JSON, as the seed wrote it; parameterised so tests can run it against a
// private broker, many times, side by side.
//   node amqplib_publisher.js [options]
//     --url URL         broker (default $COURIER_AMQP_URL, else amqp://localhost)
//     --count N         orders to publish (default 1), ids <prefix>1..<prefix>N
//     --id-prefix P     (default "order-")
//     --queue NAME      queue mode, the seed's: the queue to send to
//                       (default order.created)
//     --exchange NAME   exchange mode instead: assertExchange(NAME, TYPE), then
//                       publish(NAME, ROUTING_KEY, ...)
//     --type TYPE       the exchange's type: fanout (default), topic or direct
//     --routing-key K   (default "", or NAME for topic and direct exchanges)
//     --confirm         a ConfirmChannel, and wait for the broker's confirms
//                       before exiting (the seed fires and forgets)
//     --persistent      deliveryMode 2 (the seed sends transient messages)
// Prints "published N orders to queue|exchange NAME" and exits 0; on any
// error prints it and exits 1. Connects with {noDelay: true}.
'use strict';
const { parseArgs } = require('node:util');
let amqp;
try {
  amqp = require('amqplib');
} catch (e) {
  console.error(`amqplib_publisher: ${e.message}\nInstall the pinned peers first: npm ci --prefix tests/peers`);
  process.exit(1);
}

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.COURIER_AMQP_URL || 'amqp://localhost' },
    count: { type: 'string', default: '1' },
    'id-prefix': { type: 'string', default: 'order-' },
    queue: { type: 'string', default: 'order.created' },
    exchange: { type: 'string' },
    type: { type: 'string', default: 'fanout' },
    'routing-key': { type: 'string' },
    confirm: { type: 'boolean', default: false },
    persistent: { type: 'boolean', default: false },
  },
});
const count = Number(opt.count);
if (!Number.isInteger(count) || count < 0) {
  console.error(`amqplib_publisher: --count must be a whole number, not ${opt.count}`);
  process.exit(2);
}

// The seed's order, as examples/seed/messages.hpp has it.
function makeOrder(i) {
  return { id: `${opt['id-prefix']}${i}`, userId: String(1 + (i % 1000)), productId: `product-${i % 7}`, amount: 10 + (i % 90) };
}

async function main() {
  const connection = await amqp.connect(opt.url, { noDelay: true });
  try {
    const channel = opt.confirm ? await connection.createConfirmChannel() : await connection.createChannel();
    const options = opt.persistent ? { persistent: true } : {};
    let where;
    if (opt.exchange === undefined) {
      // The seed's code.
      await channel.assertQueue(opt.queue);
      for (let i = 1; i <= count; ++i) {
        const order = makeOrder(i);
        if (!channel.sendToQueue(opt.queue, Buffer.from(JSON.stringify(order)), options)) {
          await new Promise((resolve) => channel.once('drain', resolve));
        }
      }
      where = `queue ${opt.queue}`;
    } else {
      const routingKey = opt['routing-key'] ?? (opt.type === 'fanout' ? '' : opt.exchange);
      await channel.assertExchange(opt.exchange, opt.type);
      for (let i = 1; i <= count; ++i) {
        const order = makeOrder(i);
        if (!channel.publish(opt.exchange, routingKey, Buffer.from(JSON.stringify(order)), options)) {
          await new Promise((resolve) => channel.once('drain', resolve));
        }
      }
      where = `exchange ${opt.exchange}`;
    }
    if (opt.confirm) await channel.waitForConfirms();
    // Closing the channel after the publishes means the broker has them all.
    await channel.close();
    console.log(`published ${count} orders to ${where}`);
  } finally {
    await connection.close();
  }
}

main().catch((e) => {
  console.error(`amqplib_publisher: ${e.message || e}`);
  process.exit(1);
});
