// The amqplib baseline of the AMQP benchmarks (bench/amqp.sh): the seed's own
// library, used as its users do for confirmed publishing and acked consuming.
// Same measurements, arguments and output as bench/amqp_rabbitmq_c.c:
//   node amqp_amqplib.js URL [MESSAGES [SIZE [WINDOW [PREFETCH]]]]
// (defaults 100000 messages of 256 bytes, window 1000, prefetch 1000).
// Publish: a ConfirmChannel, sendToQueue with a confirm callback per message,
// at most WINDOW unconfirmed (the loop awaits a free slot), honouring 'drain';
// timed from the first publish to the last confirm. Consume: prefetch(PREFETCH),
// consume, channel.ack(msg) for each message; timed from prefetch to the
// cancel-ok after the last ack. CPU is process.cpuUsage() (user + system, all
// of Node's threads) per message. Connects with {noDelay: true}.
'use strict';
const path = require('node:path');
let amqp;
try {
  amqp = require(require.resolve('amqplib', { paths: [path.join(__dirname, '..', 'tests', 'peers')] }));
} catch (e) {
  console.error(`amqp_amqplib: ${e.message}\nInstall the pinned peers first: npm ci --prefix tests/peers`);
  process.exit(1);
}

const args = process.argv.slice(2);
if (args.length < 1) {
  console.error('usage: node amqp_amqplib.js URL [MESSAGES [SIZE [WINDOW [PREFETCH]]]]');
  process.exit(2);
}
function number(i, fallback) {
  if (args.length <= i) return fallback;
  const v = Number(args[i]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error('amqp_amqplib: MESSAGES, SIZE, WINDOW and PREFETCH are positive numbers');
    process.exit(2);
  }
  return v;
}
const url = args[0];
const messages = number(1, 100000);
const size = number(2, 256);
const window = number(3, 1000);
const prefetch = number(4, 1000);

function meter() {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  return () => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    return {
      seconds,
      messages_per_second: messages / seconds,
      cpu_us_per_message: (cpu.user + cpu.system) / messages,
    };
  };
}

async function main() {
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  const queue = `bench.amqplib.${process.pid}`;
  await channel.assertQueue(queue, { durable: false });
  const body = Buffer.alloc(size, 'x');
  const properties = { contentType: 'application/octet-stream', deliveryMode: 1 };

  // --- publish, at most `window` unconfirmed --------------------------------
  let stop = meter();
  let outstanding = 0;
  let nacked = 0;
  let wake = null;
  const confirmedOne = (err) => {
    if (err) ++nacked;
    --outstanding;
    if (wake !== null && (outstanding < window || outstanding === 0)) {
      const w = wake;
      wake = null;
      w();
    }
  };
  for (let i = 0; i < messages; ++i) {
    if (outstanding >= window) await new Promise((resolve) => (wake = resolve));
    ++outstanding;
    if (!channel.sendToQueue(queue, body, properties, confirmedOne)) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  while (outstanding > 0) await new Promise((resolve) => (wake = resolve));
  const publish = stop();
  if (nacked) throw new Error(`the broker nacked ${nacked} messages`);

  // --- consume, ack each message --------------------------------------------
  stop = meter();
  await channel.prefetch(prefetch);
  let received = 0;
  let redelivered = 0;
  let wrongSize = 0;
  let done;
  const all = new Promise((resolve) => (done = resolve));
  const { consumerTag } = await channel.consume(queue, (msg) => {
    if (msg.content.length !== size) ++wrongSize;
    if (msg.fields.redelivered) ++redelivered;
    channel.ack(msg);
    if (++received === messages) done();
  });
  await all;
  await channel.cancel(consumerTag);
  const consume = stop();
  if (wrongSize) throw new Error(`${wrongSize} messages of the wrong size`);

  const { messageCount } = await channel.deleteQueue(queue);
  if (messageCount !== 0) throw new Error(`${messageCount} messages left in the queue`);
  await channel.close();
  await connection.close();
  console.log(
    JSON.stringify({ impl: 'amqplib', messages, size, window, prefetch, publish, consume: { ...consume, redelivered } }),
  );
}

main().catch((e) => {
  console.error(`amqp_amqplib: ${e.message || e}`);
  process.exit(1);
});
