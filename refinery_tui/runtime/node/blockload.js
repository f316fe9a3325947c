// Load a block's file and call its `main(blockInput, backpack)`: the one loader of the local Node worker and the
// deployed Node handler (twin of blockload.py). A block is loaded again when its file changed; console output can be
// captured up to a cap; whatever the block does wrong comes back as an error {type, message, traceback}.
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');
const { formatG } = require('./jsontext');

const loaded = new Map();

// A promise the block left behind that rejects later is ignored (it is not this invocation's error).
process.on('unhandledRejection', () => {});

// The block's `main`, loaded again when its file changed.
function load(file) {
  const stat = fs.statSync(file);
  const stamp = `${stat.mtimeMs}:${stat.size}`;
  const cached = loaded.get(file);
  if (cached && cached.stamp === stamp) return cached.module;
  const resolved = require.resolve(file);
  delete require.cache[resolved];
  const module = require(resolved);
  const main = module && (module.main || (module.default && module.default.main));
  if (typeof main !== 'function') {
    const name = path.basename(file);
    throw new Error(`${name} does not export main (exports.main = async (blockInput, backpack) => ...)`);
  }
  loaded.set(file, { stamp, module: { main } });
  return { main };
}

function describe(error) {
  if (error instanceof Error) {
    return { type: error.name || 'Error', message: error.message, traceback: error.stack || '' };
  }
  return { type: 'Error', message: `the block threw ${JSON.stringify(error)}`, traceback: '' };
}

const failed = (error) => ({ ok: false, error });

function notJSON(error) {
  return { type: 'NotJSON', message: `the block returned something that is not JSON: ${error.message}`, traceback: '' };
}

class OutputFlood extends Error {
  constructor(cap) {
    super(`the block printed more than ${cap} characters`);
    this.name = 'OutputFlood';
  }
}

// Keep what the block prints (console and process.stdout/stderr.write) until `restore()`, at most `cap` characters.
function captureOutput(cap) {
  const captured = { out: [], err: [], size: 0, flood: false };
  const sink = (parts) => (...args) => {
    const text = args.map((a) => (typeof a === 'string' ? a : util.inspect(a))).join(' ') + '\n';
    captured.size += text.length;
    if (captured.size > cap) {
      captured.flood = true;
      throw new OutputFlood(cap);
    }
    parts.push(text);
  };
  const saved = {
    log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error,
    stdout: process.stdout.write, stderr: process.stderr.write,
  };
  console.log = console.info = console.debug = sink(captured.out);
  console.warn = console.error = sink(captured.err);
  const writeSink = (parts) => function write(chunk) {
    sink(parts)(String(chunk).replace(/\n$/, ''));
    return true;
  };
  process.stdout.write = writeSink(captured.out);
  process.stderr.write = writeSink(captured.err);
  captured.restore = () => {
    Object.assign(console, {
      log: saved.log, info: saved.info, debug: saved.debug, warn: saved.warn, error: saved.error,
    });
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  };
  return captured;
}

// {ok: true, output, backpack} or {ok: false, error}, with the block's console output as stdout and stderr: for the
// local worker, whose reply then crosses a JSON boundary (and a parent process enforces the timeout).
async function callCaptured(file, blockInput, backpack, cap) {
  const captured = captureOutput(cap);
  let result;
  try {
    const { main } = load(file);
    let output = await main(blockInput, backpack);
    if (output === undefined) output = null;
    if (captured.flood) throw new OutputFlood(cap);
    result = { ok: true, output, backpack };
  } catch (error) {
    result = failed(describe(error));
  } finally {
    captured.restore();
  }
  result.stdout = captured.out.join('');
  result.stderr = captured.err.join('');
  return result;
}

// What the block's result is once it has crossed a JSON boundary, as the local worker's reply crosses one:
// undefined becomes null, NaN null, functions vanish; a cycle or a BigInt is NotJSON.
function asJSON(output, backpack) {
  let text;
  try {
    text = JSON.stringify({ output: output === undefined ? null : output, backpack });
  } catch (error) {
    return failed(notJSON(error));
  }
  const data = JSON.parse(text);
  return { ok: true, output: data.output === undefined ? null : data.output, backpack: data.backpack || {} };
}

// process.exit() inside the block: locally the worker process ends and the run reports it; in a Lambda it must not
// end the function (the execution would never finish), so it throws what the local run reports instead.
function exitError(code) {
  const error = new Error(`the block's process exited with code ${code === undefined ? 0 : code}`);
  error.name = 'WorkerCrashed';
  error.stack = '';
  return error;
}

const timedOut = (timeoutS) => failed({
  type: 'Timeout', message: `the block ran longer than its timeout of ${formatG(timeoutS)} s`, traceback: '',
});

async function runInProcess(file, blockInput, backpack) {
  const realExit = process.exit;
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

// {ok: true, output, backpack} or {ok: false, error} within `timeoutS`, on copies of the input and backpack: for the
// Lambda, where the block runs in the handler's own process. Code that never yields cannot be interrupted: a
// synchronous stretch that ends late is reported as a Timeout when it ends, and one that never ends is stopped by
// Lambda's own timeout (the function's, 10 s above the block's), which ends the invocation with no record of its end.
async function callWithDeadline(file, blockInput, backpack, timeoutS) {
  const copy = (value) => JSON.parse(JSON.stringify(value === undefined ? null : value));
  const limitMs = Math.max(50, timeoutS * 1000);
  const started = Date.now();
  let timer = null;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve(timedOut(timeoutS)), limitMs);
  });
  try {
    const result = await Promise.race([runInProcess(file, copy(blockInput), copy(backpack) || {}), deadline]);
    return Date.now() - started > limitMs ? timedOut(timeoutS) : result;
  } finally {
    clearTimeout(timer);
  }
}

module.exports = { load, describe, notJSON, callCaptured, callWithDeadline, asJSON };
