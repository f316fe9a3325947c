// Test driver for the Node AWS client: reads a JSON list of calls on stdin, runs them in order, prints JSON results.
'use strict';

// Each call is {"fn": NAME, "args": [...]}; NAME is an export of aws.js or one of the extra steps below.
// An argument {"$buffer": BASE64} becomes a Buffer; a Buffer in a result becomes {"$buffer": BASE64}.
// Each result is {"ok": VALUE} or {"error": {"name", "status", "message"}}.

const path = require('path');

const aws = require(path.resolve(__dirname, '../../refinery_tui/lambda_runtime/node/aws.js'));

function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    if (typeof value.$buffer === 'string') return Buffer.from(value.$buffer, 'base64');
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = decode(v);
    return out;
  }
  return value;
}

function encode(value) {
  if (Buffer.isBuffer(value)) return { $buffer: value.toString('base64') };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = encode(v);
    return out;
  }
  return value;
}

const extra = {
  // Query every page: follows LastEvaluatedKey, returns each page's item count and all items as plain objects.
  async ddbQueryAll(params) {
    const pages = [];
    const items = [];
    let startKey;
    do {
      const page = await aws.ddb('Query', startKey ? { ...params, ExclusiveStartKey: startKey } : params);
      pages.push(page.Count);
      for (const item of page.Items || []) items.push(aws.fromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { pages, items };
  },
  // Environment changes between calls, to show configuration is read per call.
  async setEnv(vars) {
    for (const [k, v] of Object.entries(vars)) {
      if (v === null) delete process.env[k];
      else process.env[k] = v;
    }
    return null;
  },
};

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const calls = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = [];
  for (const call of calls) {
    const fn = extra[call.fn] || aws[call.fn];
    if (typeof fn !== 'function') throw new Error(`unknown call ${call.fn}`);
    try {
      results.push({ ok: encode(await fn(...decode(call.args || []))) });
    } catch (e) {
      results.push({ error: { name: e.name, status: e.status === undefined ? null : e.status, message: e.message } });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
