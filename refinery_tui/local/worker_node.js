// A warm Node worker: runs block code on request. Started by the pool; requests and replies are JSON lines on the
// two file descriptors named in the environment (see processes/). The block is loaded and called by
// runtime/node/blockload.js, its console output captured per invocation.
"use strict";
const fs = require("fs");
const readline = require("readline");
const blockload = require("../runtime/node/blockload");

// The pipes come inherited (no close-on-exec), so whatever a block spawns would hold them; opened again through
// /proc they are close-on-exec (Node opens every file so), and the inherited descriptors are closed.
function ownFd(variable, flags) {
  const inherited = Number(process.env[variable]);
  delete process.env[variable];
  try {
    const own = fs.openSync(`/proc/self/fd/${inherited}`, flags);
    fs.closeSync(inherited);
    return own;
  } catch (error) {
    return inherited;
  }
}
const requestFd = ownFd("REFINERY_REQUEST_FD", "r");
const replyFd = ownFd("REFINERY_REPLY_FD", "w");

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

async function run(request) {
  const savedEnv = {};
  for (const [key, value] of Object.entries(request.env || {})) {
    savedEnv[key] = process.env[key];
    process.env[key] = String(value);
  }
  try {
    const reply = await blockload.callCaptured(request.file, request.input, request.backpack || {},
      Number(request.cap || 1 << 20));
    return { id: request.id, ...reply };
  } finally {
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

// Worded as the Python worker's returned_too_much.
function returnedTooMuch(block, size, cap) {
  const message = `block '${block}' returned ${(size / 2 ** 20).toFixed(1)} MB (its output and backpack as JSON), ` +
    `more than its limit of ${Math.floor(cap / 2 ** 20)} MB; return less (large data can go to a file, returning ` +
    "its path), or raise `max_return` in project.yaml";
  return { type: "ReturnTooLarge", message, traceback: "" };
}

function encode(request, reply) {
  let line;
  try {
    line = JSON.stringify(reply);
  } catch (error) {
    return JSON.stringify({
      id: reply.id, ok: false, stdout: reply.stdout, stderr: reply.stderr, error: blockload.notJSON(error),
    });
  }
  const cap = Number(request.max_return || 0);
  if (cap && reply.ok && line.length * 3 > cap) {  // a UTF-16 unit is at most 3 bytes of UTF-8
    const size = Buffer.byteLength(JSON.stringify(reply.output ?? null)) +
      Buffer.byteLength(JSON.stringify(reply.backpack ?? null));
    if (size > cap) {
      const error = returnedTooMuch(request.block || "?", size, cap);
      return JSON.stringify({ id: reply.id, ok: false, stdout: reply.stdout, stderr: reply.stderr, error });
    }
  }
  return line;
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
    writeAll(replyFd, encode(request, reply) + "\n");
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
