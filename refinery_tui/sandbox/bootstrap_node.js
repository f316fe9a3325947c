// A warm Node.js Lambda worker: loads the handler once, then serves invocations as JSON lines over two pipes (named
// as processes/ names them). It stands in for Lambda's own runtime, so it loads a handler by Lambda's contract; a
// refinery function's handler then loads its block with runtime/node/blockload.js, as the local worker does.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const readline = require('readline');
const util = require('util');
const { pathToFileURL } = require('url');

// Written to stdout after an invocation's output, so the sandbox knows it has read all of it.
const END_OF_OUTPUT = '\x1e\x1esandbox-invocation-end ';

const requestFd = Number(process.env.REFINERY_REQUEST_FD);
const replyFd = Number(process.env.REFINERY_REPLY_FD);
delete process.env.REFINERY_REQUEST_FD;
delete process.env.REFINERY_REPLY_FD;
let currentRequestId = '';

function send(message) {
  let data = Buffer.from(JSON.stringify(message) + '\n');
  while (data.length > 0) {
    data = data.subarray(fs.writeSync(replyFd, data));
  }
}

// Like Lambda's Node runtime: each console line carries a timestamp, the request id and a level; newlines inside
// one message become carriage returns, so the message stays one log event.
for (const [method, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'],
  ['debug', 'DEBUG'], ['trace', 'TRACE']]) {
  console[method] = (...args) => {
    let text = util.format(...args);
    if (method === 'trace') text = `Trace: ${text}\n${new Error().stack.split('\n').slice(2).join('\n')}`;
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text.replace(/\n/g, '\r')}\n`);
  };
}

class HandlerError extends Error {
  constructor(errorType, message) {
    super(message);
    this.info = { errorType, errorMessage: message, trace: [], stackTrace: [] };
  }
}

function errorInfo(error) {
  if (error instanceof Error) {
    const trace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
    return { errorType: error.name || error.constructor.name || 'Error', errorMessage: error.message, trace,
      stackTrace: trace };
  }
  let message;
  try { message = typeof error === 'string' ? error : JSON.stringify(error); } catch { message = String(error); }
  return { errorType: typeof error, errorMessage: message, trace: [], stackTrace: [] };
}

function logError(info) {
  const body = JSON.stringify({ errorType: info.errorType, errorMessage: info.errorMessage, stack: info.trace });
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\tERROR\tInvoke Error \t${body}\n`);
}

async function loadHandler(handler, taskRoot) {
  const slash = handler.lastIndexOf('/');
  const dir = handler.slice(0, slash + 1);
  const rest = handler.slice(slash + 1);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) {
    throw new HandlerError('Runtime.MalformedHandlerName', `Bad handler ${handler}`);
  }
  const moduleName = dir + rest.slice(0, dot);
  const base = path.resolve(taskRoot, moduleName);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f))
    || (fs.existsSync(path.join(base, 'index.js')) ? path.join(base, 'index.js') : null);
  if (!file) {
    throw new HandlerError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }
  let module;
  try {
    if (file.endsWith('.mjs')) {
      module = await import(pathToFileURL(file).href);
    } else {
      try {
        module = require(file);
      } catch (error) {
        if (error.code !== 'ERR_REQUIRE_ESM') throw error;
        module = await import(pathToFileURL(file).href);
      }
    }
  } catch (error) {
    if (error instanceof SyntaxError) throw new HandlerError('Runtime.UserCodeSyntaxError', String(error));
    const wrapped = new HandlerError('Runtime.ImportModuleError', String(error));
    wrapped.info.trace = wrapped.info.stackTrace = errorInfo(error).trace;
    throw wrapped;
  }
  let fn = module;
  for (const part of rest.slice(dot + 1).split('.')) fn = fn == null ? undefined : fn[part];
  if (typeof fn !== 'function') {
    throw new HandlerError('Runtime.HandlerNotFound', `${rest} is undefined or not exported`);
  }
  return fn;
}

function makeContext(request) {
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: request.invokedFunctionArn,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: request.requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: request.clientContext == null ? undefined : request.clientContext,
    identity: request.identity == null ? undefined : request.identity,
    getRemainingTimeInMillis: () => Math.max(request.deadlineMs - Date.now(), 0),
  };
}

function runHandler(fn, request) {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (error, result) => {
      if (settled) return;
      settled = true;
      resolve([error, result]);
    };
    const context = makeContext(request);
    context.done = (error, result) => finish(error, result);
    context.succeed = (result) => finish(null, result);
    context.fail = (error) => finish(error == null ? 'handled' : error);
    let returned;
    try {
      returned = fn(request.event, context, (error, result) => finish(error, result));
    } catch (error) {
      finish(error == null ? new Error('null thrown') : error);
      return;
    }
    if (returned && typeof returned.then === 'function') {
      returned.then((result) => finish(null, result), (error) => finish(error == null ? new Error('rejected') : error));
    } else if (fn.length < 3) {
      finish(null, returned);
    }
  });
}

async function invoke(fn, request) {
  currentRequestId = request.requestId;
  const [error, result] = await runHandler(fn, request);
  if (error != null) {
    const info = errorInfo(error);
    logError(info);
    return { requestId: request.requestId, ok: false, error: info };
  }
  let payload;
  try {
    payload = JSON.stringify(result === undefined ? null : result);
  } catch (marshal) {
    const info = { errorType: 'Runtime.MarshalError', errorMessage: `Unable to stringify response body: ${marshal}`,
      trace: [], stackTrace: [] };
    logError(info);
    return { requestId: request.requestId, ok: false, error: info };
  }
  return { requestId: request.requestId, ok: true, payload: payload === undefined ? 'null' : payload };
}

async function main() {
  const taskRoot = process.env.LAMBDA_TASK_ROOT;
  process.chdir(taskRoot);
  let fn = null;
  let initError = null;
  try {
    fn = await loadHandler(process.env._HANDLER, taskRoot);
  } catch (error) {
    initError = error instanceof HandlerError ? error.info : errorInfo(error);
    logError(initError);
  }
  send({ ready: true });
  // A socket, not fs.createReadStream: a blocking read on a thread-pool thread would keep process.exit() waiting.
  const requests = new net.Socket({ fd: requestFd, readable: true, writable: false });
  const lines = readline.createInterface({ input: requests, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    const request = JSON.parse(line);
    const reply = initError
      ? { requestId: request.requestId, ok: false, fatal: true, error: initError }
      : await invoke(fn, request);
    process.stdout.write(END_OF_OUTPUT + request.requestId + '\n');
    send(reply);
    if (initError) process.exit(1);
  }
  process.exit(0);
}

main();
