// The seed's own call, with the seed's own library, against courier's
// user_service: axios.get(`http://127.0.0.1:3001/users/${id}`).
//   node axios_user_service.js <user_service binary>
// Starts the service on an ephemeral port, checks the 200 and 404 answers
// and 200 concurrent requests, then stops it with SIGINT and expects a clean
// exit.
'use strict';
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const assert = require('node:assert/strict');
const axios = require('axios');

function start(binary) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--http', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => reject(new Error('user_service did not announce its port')), 20000);
    child.on('exit', (code) => reject(new Error(`user_service exited early (${code})`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
  });
}

async function main() {
  const { child, port } = await start(process.argv[2]);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    const base = `http://127.0.0.1:${port}`;
    const ok = await axios.get(`${base}/users/7`);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.data, { id: '7', name: 'User 7', email: 'user7@example.com' });
    assert.match(ok.headers['content-type'], /^application\/json/);

    for (const id of ['0', '1001', 'abc']) {
      const res = await axios.get(`${base}/users/${id}`, { validateStatus: () => true });
      assert.equal(res.status, 404, `id ${id}`);
      assert.deepEqual(res.data, { error: 'User not found' });
    }

    const ids = Array.from({ length: 200 }, (_, i) => String(1 + (i * 7) % 1000));
    const answers = await Promise.all(ids.map((id) => axios.get(`${base}/users/${id}`)));
    answers.forEach((res, i) => {
      assert.equal(res.status, 200);
      assert.equal(res.data.id, ids[i]);
      assert.equal(res.data.email, `user${ids[i]}@example.com`);
    });
  } finally {
    child.kill('SIGINT');
  }
  const { code, signal } = await exited;
  assert.equal(signal, null, `user_service died of ${signal}`);
  assert.equal(code, 0);
  console.log('axios -> user_service: ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
