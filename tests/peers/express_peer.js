// An independent HTTP server for courier's client: express, as a Node
// service of the seed story would be written. Starts on 127.0.0.1 (an
// ephemeral port), runs the C++ driver given on the command line with the
// base URL, and exits with the driver's status.
//   node express_peer.js <driver binary>
// Routes (each prefix serves /users/:id, so one endpoint fits all):
//   /users/:id         ids 1..1000 as the seed's user service; else 404
//   /broken/users/:id  500 {"error":...}
//   /slow/users/:id    answers after 3 s (longer than the driver's deadlines)
//   /reset/users/:id   first request per id: headers and half the body, then
//                      a TCP reset; later ones answer normally
//   /cut/users/:id     the same, with an orderly close (FIN) instead
//   /flaky/users/:id   503 for the first two requests per id, then 200
'use strict';
const { spawn } = require('node:child_process');
let express;
try {
  express = require('express');
} catch (e) {
  console.error(`express_peer: ${e.message}\nInstall the pinned peers first: npm ci --prefix tests/peers`);
  process.exit(1);
}

if (process.argv.length !== 3) {
  console.error('usage: node express_peer.js <driver binary>');
  process.exit(2);
}

const SLOW_MS = 3000;
const FLAKY_FAILURES = 2;

function user(id) {
  return { id, name: `User ${id}`, email: `user${id}@example.com` };
}

function known(id) {
  return /^\d+$/.test(id) && Number(id) >= 1 && Number(id) <= 1000;
}

const app = express();
const seen = new Map(); // "route:id" -> requests so far
function count(route, id) {
  const key = `${route}:${id}`;
  const n = (seen.get(key) || 0) + 1;
  seen.set(key, n);
  return n;
}

app.get('/users/:id', (req, res) => {
  if (!known(req.params.id)) return res.status(404).json({ error: 'User not found' });
  res.json(user(req.params.id));
});

app.get('/broken/users/:id', (req, res) => {
  res.status(500).json({ error: 'database connection lost' });
});

app.get('/slow/users/:id', (req, res) => {
  const timer = setTimeout(() => res.json(user(req.params.id)), SLOW_MS);
  res.on('close', () => clearTimeout(timer)); // the client gave up first
});

function cutMidway(how) {
  return (req, res) => {
    if (count(how, req.params.id) > 1) return res.json(user(req.params.id));
    const body = JSON.stringify(user(req.params.id));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    // Once half the body is on the wire, the connection goes away.
    res.write(body.slice(0, body.length / 2), () => {
      if (how === 'reset') req.socket.resetAndDestroy();
      else req.socket.destroy();
    });
  };
}
app.get('/reset/users/:id', cutMidway('reset'));
app.get('/cut/users/:id', cutMidway('cut'));

app.get('/flaky/users/:id', (req, res) => {
  if (count('flaky', req.params.id) <= FLAKY_FAILURES) {
    return res.status(503).json({ error: 'warming up' });
  }
  res.json(user(req.params.id));
});

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  console.log(`express listening on ${base}`);
  const driver = spawn(process.argv[2], [base], { stdio: 'inherit' });
  const guard = setTimeout(() => {
    console.error('express_peer: the driver took longer than 90 s; killing it');
    driver.kill('SIGKILL');
  }, 90000);
  driver.on('error', (e) => {
    console.error(`express_peer: cannot run ${process.argv[2]}: ${e.message}`);
    process.exit(1);
  });
  driver.on('exit', (code, signal) => {
    clearTimeout(guard);
    if (signal) console.error(`express_peer: the driver died of ${signal}`);
    server.close();
    server.closeAllConnections();
    process.exit(signal ? 1 : code);
  });
});
