// Proves the test broker fixture (tests/integration/rabbitmq.cmake) with no
// courier code: the seed's amqplib peers (tests/peers/amqplib_*.js) publish
// and consume through COURIER_AMQP_URL, and COURIER_RABBITMQ_CTL inspects and
// restarts the broker.
//   node rabbitmq_fixture_test.js smoke    queue mode and exchange mode
//   node rabbitmq_fixture_test.js restart  confirmed persistent messages
//                                          survive an orderly restart and a
//                                          SIGKILL of the broker (run alone:
//                                          other tests would see the restart)
'use strict';
const { execFile, spawn } = require('node:child_process');
const { promisify } = require('node:util');
const path = require('node:path');
const readline = require('node:readline');
const assert = require('node:assert/strict');

const peers = path.join(__dirname, '..', 'peers');
const ctl = process.env.COURIER_RABBITMQ_CTL;
if (!process.env.COURIER_AMQP_URL || !ctl) {
  console.error('rabbitmq_fixture_test: COURIER_AMQP_URL and COURIER_RABBITMQ_CTL must be set (run it through ctest)');
  process.exit(2);
}
// Names of our own: other tests use the broker at the same time.
const unique = `fixture-${process.pid}`;

async function rabbitmqctl(...args) {
  const { stdout } = await promisify(execFile)(ctl, args, { timeout: 120000 });
  return stdout;
}

// Runs a peer; resolves with its stdout lines once it exits 0. `onLine` sees
// each line as it comes.
function peer(script, args, onLine = () => {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(peers, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = [];
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      onLine(line);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(lines) : reject(new Error(`${script} ${args.join(' ')} exited with ${code}`))));
  });
}

// A consumer that has registered: resolves `ready` at its "consuming" line.
function consumer(args) {
  let ready;
  const registered = new Promise((resolve) => {
    ready = resolve;
  });
  const done = peer('amqplib_consumer.js', args, (line) => line.startsWith('consuming ') && ready());
  return { registered: Promise.race([registered, done]), done };
}

function emails(lines) {
  return lines.filter((l) => l.startsWith('Sending email for order: ')).map((l) => l.slice('Sending email for order: '.length));
}

function ids(prefix, n) {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

async function smoke() {
  // Queue mode, as the seed: sendToQueue, then consume + ack.
  const queue = `${unique}.order.created`;
  await peer('amqplib_publisher.js', ['--queue', queue, '--count', '5', '--confirm']);
  const got = emails(await peer('amqplib_consumer.js', ['--queue', queue, '--count', '5']));
  assert.deepEqual(got, ids('order-', 5));
  const listed = await rabbitmqctl('list_queues', '--quiet', 'name', 'messages');
  assert.match(listed, new RegExp(`^${queue.replace(/\./g, '\\.')}\\s+0$`, 'm'), listed);

  // Exchange mode: every group gets every message.
  const exchange = `${unique}.orders`;
  const groups = ['email-service', 'audit'].map((g) => consumer(['--exchange', exchange, '--group', `${unique}.${g}`, '--count', '3']));
  await Promise.all(groups.map((g) => g.registered));
  await peer('amqplib_publisher.js', ['--exchange', exchange, '--count', '3', '--id-prefix', 'x-', '--confirm']);
  for (const g of groups) assert.deepEqual(emails(await g.done), ids('x-', 3));
  console.log('smoke: queue mode and exchange mode ok');
}

async function restart() {
  const queue = `${unique}.durable`;
  for (const how of [[], ['--kill']]) {
    const prefix = `r${how.length}-`;
    await peer('amqplib_publisher.js', ['--queue', queue, '--count', '100', '--id-prefix', prefix, '--confirm', '--persistent']);
    const before = Date.now();
    await rabbitmqctl('restart', ...how);
    console.log(`restart ${how.join(' ') || '(orderly)'}: ${Date.now() - before} ms`);
    const got = emails(await peer('amqplib_consumer.js', ['--queue', queue, '--count', '100']));
    assert.deepEqual(got, ids(prefix, 100));
  }
  console.log('restart: every confirmed persistent message survived both restarts');
}

const tests = { smoke, restart };
const name = process.argv[2];
if (!tests[name]) {
  console.error(`usage: node rabbitmq_fixture_test.js ${Object.keys(tests).join('|')}`);
  process.exit(2);
}
tests[name]().catch((e) => {
  console.error(`rabbitmq_fixture_test ${name}: ${e.stack || e}`);
  process.exit(1);
});
