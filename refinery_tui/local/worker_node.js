// A warm Node worker: runs block code on request. Started by the executor; requests and replies are JSON lines on
// the two file descriptors given on the command line. console output is captured per invocation.
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");

const requestFd = Number(process.argv[2]);
const replyFd = Number(process.argv[3]);
const loaded = new Map();

function writeAll(fd, text) {
  const buffer = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

function load(file) {
  const stat = fs.statSync(file);
  const stamp = `${stat.mtimeMs}:${stat.size}`;
  const cached = loaded.get(file);
  if (cached && cached.stamp === stamp) return cached.module;
  const resolved = require.resolve(file);
  delete require.cache[resolved];
  const module = require(resolved);
  const main = module && (module.main || (module.default && module.default.main));
  if (typeof main !== "function") {
    throw new Error(`${path.basename(file)} does not export main (exports.main = async (blockInput, backpack) => ...)`);
  }
  loaded.set(file, { stamp, module: { main } });
  return { main };
}

function describe(error) {
  if (error instanceof Error) {
    return { type: error.name || "Error", message: error.message, traceback: error.stack || "" };
  }
  return { type: "Error", message: `the block threw ${JSON.stringify(error)}`, traceback: "" };
}

class OutputFlood extends Error {
  constructor(cap) {
    super(`the block printed more than ${cap} characters`);
    this.name = "OutputFlood";
  }
}

async function run(request) {
  const cap = Number(request.cap || 1 << 20);
  const out = [];
  const err = [];
  const state = { size: 0, flood: false };
  const sink = (parts) => (...args) => {
    const text = args.map((a) => (typeof a === "string" ? a : require("util").inspect(a))).join(" ") + "\n";
    state.size += text.length;
    if (state.size > cap) {
      state.flood = true;
      throw new OutputFlood(cap);
    }
    parts.push(text);
  };
  const saved = {
    log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error,
    stdout: process.stdout.write, stderr: process.stderr.write,
  };
  const savedEnv = {};
  for (const [key, value] of Object.entries(request.env || {})) {
    savedEnv[key] = process.env[key];
    process.env[key] = String(value);
  }
  console.log = console.info = console.debug = sink(out);
  console.warn = console.error = sink(err);
  const writeSink = (parts) => function (chunk) {
    sink(parts)(String(chunk).replace(/\n$/, ""));
    return true;
  };
  process.stdout.write = writeSink(out);
  process.stderr.write = writeSink(err);
  const reply = { id: request.id };
  try {
    const main = load(request.file).main;
    const backpack = request.backpack || {};
    let output = await main(request.input, backpack);
    if (output === undefined) output = null;
    if (state.flood) throw new OutputFlood(cap);
    reply.ok = true;
    reply.output = output;
    reply.backpack = backpack;
  } catch (error) {
    reply.ok = false;
    reply.error = describe(error);
  } finally {
    Object.assign(console, { log: saved.log, info: saved.info, debug: saved.debug, warn: saved.warn, error: saved.error });
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    reply.stdout = out.join("");
    reply.stderr = err.join("");
  }
  return reply;
}

function encode(reply) {
  try {
    return JSON.stringify(reply);
  } catch (error) {
    return JSON.stringify({
      id: reply.id, ok: false, stdout: reply.stdout, stderr: reply.stderr,
      error: { type: "NotJSON", message: `the block returned something that is not JSON: ${error.message}`, traceback: "" },
    });
  }
}

const input = readline.createInterface({ input: fs.createReadStream(null, { fd: requestFd }), crlfDelay: Infinity });
const queue = [];
let busy = false;

async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const request = JSON.parse(queue.shift());
    const reply = await run(request);
    writeAll(replyFd, encode(reply) + "\n");
  }
  busy = false;
}

input.on("line", (line) => {
  queue.push(line);
  pump();
});
input.on("close", () => process.exit(0));
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(1); }, 500).unref();  // no orphans
process.on("unhandledRejection", () => {});
