// Load the block's code and call its `main(blockInput, backpack)` within the block's deadline (twin of blockcall.py).
'use strict';

// Errors are named as the local Node worker (local/worker_node.js) names them, so a deployed run reports what a
// local run reports. Code that never yields cannot be interrupted in-process: a synchronous stretch that ends late is
// reported as a Timeout when it ends, and one that never ends is stopped by Lambda's own timeout (the function's,
// 10 s above the block's), which ends the invocation with no record of its end.

const path = require('path');
const { formatG } = require('../../runtime/node/jsontext');

let loaded = null;
const realExit = process.exit;

// A promise the block left behind that rejects later is ignored, as the local worker ignores it.
process.on('unhandledRejection', () => {});

function load(file) {
  if (loaded === null) {
    const module = require(file);
    const main = module && (module.main || (module.default && module.default.main));
    if (typeof main !== 'function') {
      const name = path.basename(file);
      throw new Error(`${name} does not export main (exports.main = async (blockInput, backpack) => ...)`);
    }
    loaded = { main };
  }
  return loaded;
}

function describe(error) {
  if (error instanceof Error) {
    return { type: error.name || 'Error', message: error.message, traceback: error.stack || '' };
  }
  return { type: 'Error', message: `the block threw ${JSON.stringify(error)}`, traceback: '' };
}

const failed = (error) => ({ ok: false, error });
const timedOut = (timeoutS) => failed({
  type: 'Timeout', message: `the block ran longer than its timeout of ${formatG(timeoutS)} s`, traceback: '',
});

// What the block's result is once it has crossed a JSON boundary, as the local worker's reply crosses one:
// undefined becomes null, NaN null, functions vanish; a cycle or a BigInt is NotJSON.
function asJSON(output, backpack) {
  let text;
  try {
    text = JSON.stringify({ output: output === undefined ? null : output, backpack });
  } catch (error) {
    return failed({
      type: 'NotJSON', message: `the block returned something that is not JSON: ${error.message}`, traceback: '',
    });
  }
  const data = JSON.parse(text);
  return { ok: true, output: data.output === undefined ? null : data.output, backpack: data.backpack || {} };
}

// process.exit() inside the block: locally the worker process ends and the run reports it; here it must not end
// the function (the execution would never finish), so it throws what the local run reports instead.
function exitError(code) {
  const error = new Error(`the block's process exited with code ${code === undefined ? 0 : code}`);
  error.name = 'WorkerCrashed';
  error.stack = '';
  return error;
}

async function run(file, blockInput, backpack) {
  process.exit = (code) => { throw exitError(code); };
  try {
    const { main } = load(file);
    const output = await main(blockInput, backpack);
    return asJSON(output, backpack);
  } catch (error) {
    return failed(describe(error));
  } finally {
    process.exit = realExit;
  }
}

// {ok: true, output, backpack} or {ok: false, error}; never throws for the block's mistakes.
async function call(file, blockInput, backpack, timeoutS) {
  const copy = (value) => JSON.parse(JSON.stringify(value === undefined ? null : value));
  const limitMs = Math.max(50, timeoutS * 1000);
  const started = Date.now();
  let timer = null;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve(timedOut(timeoutS)), limitMs);
  });
  try {
    const result = await Promise.race([run(file, copy(blockInput), copy(backpack) || {}), deadline]);
    return Date.now() - started > limitMs ? timedOut(timeoutS) : result;
  } finally {
    clearTimeout(timer);
  }
}

module.exports = { call, describe, asJSON };
