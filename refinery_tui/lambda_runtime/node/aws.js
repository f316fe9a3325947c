// Dependency-free minimal AWS client (SigV4; Lambda, SQS, SNS, S3, DynamoDB) for the Node block runtime.
'use strict';

const http = require('http');
const https = require('https');
const crypto = require('crypto');
const { URL } = require('url');

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

const DEFAULT_TIMEOUT_MS = 120 * 1000; // socket idle time before a request is abandoned
const LAMBDA_SYNC_TIMEOUT_MS = 16 * 60 * 1000; // a RequestResponse invoke may run for 15 minutes
const DEFAULT_MAX_ATTEMPTS = 4; // the first try and 3 retries
const EMPTY = Buffer.alloc(0);

// Service id (for AWS_ENDPOINT_URL_<ID>), endpoint host prefix and SigV4 signing name.
const LAMBDA = { id: 'LAMBDA', host: 'lambda', signing: 'lambda' };
const SQS = { id: 'SQS', host: 'sqs', signing: 'sqs' };
const SNS = { id: 'SNS', host: 'sns', signing: 'sns' };
const S3 = { id: 'S3', host: 's3', signing: 's3', s3: true };
const DYNAMODB = { id: 'DYNAMODB', host: 'dynamodb', signing: 'dynamodb' };

// ---------------------------------------------------------------- configuration (read on every call)

function configError(message) {
  const err = new Error(message);
  err.name = 'ConfigError';
  return err;
}

function currentRegion() {
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (!region) throw configError('no AWS region: set AWS_REGION or AWS_DEFAULT_REGION');
  return region;
}

function currentCredentials() {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    const err = configError('no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    err.name = 'CredentialsError';
    throw err;
  }
  return { accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN || undefined };
}

/** Where a service's requests go: AWS_ENDPOINT_URL_<ID>, else AWS_ENDPOINT_URL, else the regional endpoint. */
function endpointFor(service, region) {
  const env = process.env;
  const ignore = String(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS || '').toLowerCase() === 'true';
  let raw = ignore ? '' : env[`AWS_ENDPOINT_URL_${service.id}`] || env.AWS_ENDPOINT_URL || '';
  if (!raw) {
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    raw = `https://${service.host}.${region}.${suffix}`;
  }
  let url;
  try {
    url = new URL(raw);
  } catch (e) {
    throw configError(`invalid AWS endpoint URL ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`unsupported AWS endpoint URL ${JSON.stringify(raw)}`);
  }
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : undefined,
    host: url.host, // with the port when it is not the default one: what the Host header carries
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

// ---------------------------------------------------------------- Signature Version 4

/** RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (and '/' when kept). */
function uriEncode(value, encodeSlash = true) {
  const out = encodeURIComponent(String(value)).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
  return encodeSlash ? out : out.replace(/%2F/g, '/');
}

/** Remove '.' and '..' segments and empty segments, as botocore does for non-S3 canonical paths. */
function normalizePath(path) {
  if (!path) return '/';
  const out = [];
  for (const segment of path.split('/')) {
    if (!segment || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const first = path.startsWith('/') ? '/' : '';
  const last = path.endsWith('/') && out.length ? '/' : '';
  return first + out.join('/') + last;
}

function queryPairs(query) {
  if (!query) return [];
  const pairs = Array.isArray(query) ? query : Object.entries(query);
  return pairs
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)]);
}

/** The canonical (and sent) query string: encoded pairs sorted by key, then value. */
function canonicalQueryString(query) {
  return queryPairs(query)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function amzDateNow() {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

const UNSIGNED_HEADERS = new Set([
  'authorization', 'connection', 'content-length', 'expect', 'keep-alive', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id',
]);

/**
 * Sign a request with AWS Signature Version 4.
 *
 * path is the path as sent on the wire (already percent-encoded); query is an object or a list of
 * [name, value] pairs, not encoded. Every header given is signed, plus host, x-amz-date,
 * x-amz-security-token (when there is a session token) and, for S3, x-amz-content-sha256.
 * Returns {headers, queryString, canonicalRequest, stringToSign, signature, authorization}.
 */
function signRequest({
  method = 'GET',
  host,
  path = '/',
  query,
  headers = {},
  body,
  service,
  region,
  credentials,
  amzDate,
  s3 = false,
}) {
  if (!host) throw new TypeError('signRequest: host is required');
  if (!service || !region) throw new TypeError('signRequest: service and region are required');
  if (!credentials || !credentials.accessKeyId || !credentials.secretAccessKey) {
    throw new TypeError('signRequest: credentials {accessKeyId, secretAccessKey} are required');
  }
  const date = amzDate || amzDateNow();
  const day = date.slice(0, 8);
  const payloadHash = sha256Hex(body === undefined || body === null ? EMPTY : body);

  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = String(value);
  }
  delete out.authorization;
  if (!out.host) out.host = host;
  out['x-amz-date'] = date;
  if (credentials.sessionToken) out['x-amz-security-token'] = credentials.sessionToken;
  else delete out['x-amz-security-token'];
  if (s3) out['x-amz-content-sha256'] = payloadHash;

  const names = Object.keys(out)
    .filter((n) => !UNSIGNED_HEADERS.has(n))
    .sort();
  const canonicalHeaders = names.map((n) => `${n}:${out[n].trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalPath = s3 ? path || '/' : uriEncode(normalizePath(path), false);
  const queryString = canonicalQueryString(query);
  const canonicalRequest = [
    method.toUpperCase(),
    canonicalPath,
    queryString,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');

  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac('AWS4' + credentials.secretAccessKey, day);
  const kSigning = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
  const signature = crypto.createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  const authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  out.authorization = authorization;
  return { headers: out, queryString, canonicalRequest, stringToSign, signature, authorization };
}

// ---------------------------------------------------------------- HTTP with retries

const RETRYABLE_CODES = new Set([
  'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottledException',
  'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'TransactionInProgressException',
  'RequestLimitExceeded', 'BandwidthLimitExceeded', 'RequestThrottled', 'SlowDown',
  'PriorRequestNotComplete', 'EC2ThrottledException', 'RequestTimeout', 'RequestTimeoutException',
  'InternalError', 'InternalFailure', 'InternalServerError', 'ServiceUnavailable',
]);
const THROTTLING_CODES = new Set([
  'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottledException',
  'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded',
  'BandwidthLimitExceeded', 'RequestThrottled', 'SlowDown', 'EC2ThrottledException',
]);
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH',
  'EHOSTUNREACH', 'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Whether an error from request() is a throttle (what a caller may wait out longer than the retries here). */
function isThrottle(error) {
  return Boolean(error) && (THROTTLING_CODES.has(error.name) || error.status === 429);
}

function maxAttempts() {
  const n = parseInt(process.env.AWS_MAX_ATTEMPTS || '', 10);
  return Number.isFinite(n) && n >= 1 ? n : DEFAULT_MAX_ATTEMPTS;
}

function backoff(attempt, throttled) {
  // Full jitter: a random delay up to base * 2^attempt, capped.
  const base = throttled ? 500 : 100;
  const ceiling = Math.min(5000, base * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

function httpCall(endpoint, method, path, headers, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const secure = endpoint.protocol === 'https:';
    const req = (secure ? https : http).request(
      {
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: endpoint.port,
        method,
        path,
        headers,
        agent: secure ? httpsAgent : httpAgent,
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          if (res.complete === false) {
            const err = new Error('connection closed before the response was complete');
            err.code = 'ECONNRESET';
            reject(err);
            return;
          }
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('aborted', () => {
          const err = new Error('response aborted');
          err.code = 'ECONNRESET';
          reject(err);
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => {
      const err = new Error(`no response from ${endpoint.host} within ${timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      req.destroy(err);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function decodeXml(text) {
  return text
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function xmlTag(text, tag) {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(text);
  return m ? decodeXml(m[1]) : undefined;
}

function defaultErrorCode(status) {
  if (status === 400) return 'BadRequest';
  if (status === 403) return 'AccessDenied';
  if (status === 404) return 'NotFound';
  if (status === 429) return 'TooManyRequestsException';
  if (status === 503) return 'ServiceUnavailable';
  if (status >= 500) return 'InternalFailure';
  return 'UnknownError';
}

/** Build the Error for a non-2xx response: .name = AWS error code, .status, .message. */
function responseError(res) {
  const text = res.body.toString('utf8');
  const trimmed = text.trim();
  let code;
  let message;
  let data;
  let requestId = res.headers['x-amzn-requestid'] || res.headers['x-amz-request-id'];
  if (trimmed.startsWith('{')) {
    try {
      data = JSON.parse(trimmed);
      code = data.__type || data.code || data.Code;
      message = data.message || data.Message || data.errorMessage;
    } catch (e) {
      // not JSON after all: fall through to the defaults
    }
  } else if (trimmed.startsWith('<')) {
    code = xmlTag(trimmed, 'Code');
    message = xmlTag(trimmed, 'Message');
    requestId = requestId || xmlTag(trimmed, 'RequestId');
  }
  // REST-JSON services (Lambda) put the code in a header, e.g. "ResourceNotFoundException:http://...".
  if (res.headers['x-amzn-errortype']) code = res.headers['x-amzn-errortype'];
  // JSON protocols prefix it with a namespace, e.g. "com.amazonaws.dynamodb.v20120810#ConditionalCheck...".
  code = code ? String(code).split(':')[0].split('#').pop().trim() : '';
  if (!code) code = defaultErrorCode(res.status);
  const err = new Error(message || `${code} (HTTP ${res.status})`);
  err.name = code;
  err.code = code;
  err.status = res.status;
  if (requestId) err.requestId = requestId;
  if (res.headers['x-amzn-query-error']) err.queryErrorCode = res.headers['x-amzn-query-error'].split(';')[0];
  if (data !== undefined) err.data = data;
  return err;
}

function toBuffer(body) {
  if (body === undefined || body === null) return EMPTY;
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  throw new TypeError('request body must be a string, a Buffer or a Uint8Array');
}

/**
 * Send one signed request to a service and return {status, headers, body: Buffer} for a 2xx answer;
 * throttling, 5xx and connection errors are retried (AWS_MAX_ATTEMPTS attempts in all, default 4).
 */
async function request(service, {
  method = 'POST',
  path = '/',
  query,
  headers = {},
  body,
  region,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  retryTimeouts = true,
} = {}) {
  const signingRegion = region || currentRegion();
  const credentials = currentCredentials();
  const endpoint = endpointFor(service, signingRegion);
  const payload = toBuffer(body);
  const fullPath = (endpoint.basePath + path) || '/';
  const attempts = maxAttempts();
  for (let attempt = 0; ; attempt += 1) {
    const signed = signRequest({
      method,
      host: endpoint.host,
      path: fullPath,
      query,
      headers,
      body: payload,
      service: service.signing,
      region: signingRegion,
      credentials,
      s3: Boolean(service.s3),
    });
    const sendHeaders = { ...signed.headers, 'content-length': String(payload.length) };
    const target = signed.queryString ? `${fullPath}?${signed.queryString}` : fullPath;
    let res;
    try {
      res = await httpCall(endpoint, method, target, sendHeaders, payload, timeoutMs);
    } catch (e) {
      const retryable = RETRYABLE_NETWORK_CODES.has(e.code) && (retryTimeouts || e.code !== 'ETIMEDOUT');
      if (retryable && attempt + 1 < attempts) {
        await backoff(attempt, false);
        continue;
      }
      if (!e.name || e.name === 'Error') e.name = e.code === 'ETIMEDOUT' ? 'TimeoutError' : 'NetworkingError';
      throw e;
    }
    if (res.status >= 200 && res.status < 300) return res;
    const err = responseError(res);
    const throttled = THROTTLING_CODES.has(err.name) || res.status === 429;
    err.retryable = throttled || RETRYABLE_CODES.has(err.name) || (res.status >= 500 && res.status !== 501);
    if (err.retryable && attempt + 1 < attempts) {
      await backoff(attempt, throttled);
      continue;
    }
    throw err;
  }
}

function parseJsonBody(res) {
  const text = res.body.toString('utf8');
  return text.trim() ? JSON.parse(text) : {};
}

async function jsonCall(service, target, params, contentType = 'application/x-amz-json-1.0') {
  const res = await request(service, {
    method: 'POST',
    path: '/',
    headers: { 'content-type': contentType, 'x-amz-target': target },
    body: JSON.stringify(params || {}),
  });
  return parseJsonBody(res);
}

// ---------------------------------------------------------------- Lambda

/**
 * Invoke a function. invocationType: "RequestResponse" (default) | "Event" | "DryRun".
 * Returns {status, payload: string, functionError: string | null}.
 */
async function lambdaInvoke(functionName, payload, invocationType = 'RequestResponse', options = {}) {
  const body = typeof payload === 'string' || Buffer.isBuffer(payload) || payload instanceof Uint8Array
    ? payload
    : JSON.stringify(payload === undefined ? {} : payload);
  const headers = { 'x-amz-invocation-type': invocationType, 'content-type': 'application/json' };
  if (options.logType) headers['x-amz-log-type'] = options.logType;
  const sync = invocationType === 'RequestResponse';
  const res = await request(LAMBDA, {
    method: 'POST',
    path: `/2015-03-31/functions/${uriEncode(functionName)}/invocations`,
    query: options.qualifier ? { Qualifier: options.qualifier } : undefined,
    headers,
    body,
    timeoutMs: sync ? LAMBDA_SYNC_TIMEOUT_MS : DEFAULT_TIMEOUT_MS,
    retryTimeouts: !sync,
  });
  return {
    status: res.status,
    payload: res.body.toString('utf8'),
    functionError: res.headers['x-amz-function-error'] || null,
  };
}

// ---------------------------------------------------------------- message attributes (SQS and SNS)

function messageAttribute(value) {
  if (value && typeof value === 'object' && !(value instanceof Uint8Array) && value.DataType) return value;
  if (typeof value === 'number' || typeof value === 'bigint') {
    return { DataType: 'Number', StringValue: String(value) };
  }
  if (value instanceof Uint8Array) {
    return { DataType: 'Binary', BinaryValue: toBuffer(value).toString('base64') };
  }
  return { DataType: 'String', StringValue: String(value) };
}

function messageAttributes(attributes) {
  const out = {};
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) out[name] = messageAttribute(value);
  }
  return out;
}

// ---------------------------------------------------------------- SQS (JSON protocol)

/** Any SQS action over the JSON protocol, e.g. sqs('DeleteMessage', {QueueUrl, ReceiptHandle}). */
function sqs(op, params) {
  return jsonCall(SQS, `AmazonSQS.${op}`, params);
}

/** The URL of a queue, as a string. */
async function sqsGetQueueUrl(queueName, ownerAccountId) {
  const params = { QueueName: queueName };
  if (ownerAccountId) params.QueueOwnerAWSAccountId = ownerAccountId;
  return (await sqs('GetQueueUrl', params)).QueueUrl;
}

/**
 * Send a message. attributes: {name: string | number | Buffer | {DataType, StringValue | BinaryValue}};
 * options: extra SendMessage parameters (DelaySeconds, MessageGroupId, MessageDeduplicationId).
 * Returns the parsed response ({MessageId, MD5OfMessageBody, ...}).
 */
async function sqsSendMessage(queueUrl, body, attributes, options = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const params = { ...options, QueueUrl: queueUrl, MessageBody: text };
  const attrs = messageAttributes(attributes);
  if (Object.keys(attrs).length) params.MessageAttributes = attrs;
  const result = await sqs('SendMessage', params);
  const md5 = crypto.createHash('md5').update(text, 'utf8').digest('hex');
  if (result.MD5OfMessageBody && result.MD5OfMessageBody !== md5) {
    const err = new Error(`SQS message body MD5 mismatch (sent ${md5}, got ${result.MD5OfMessageBody})`);
    err.name = 'ChecksumMismatch';
    throw err;
  }
  return result;
}

// ---------------------------------------------------------------- SNS (query protocol)

function formEncode(pairs) {
  return pairs.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
}

/**
 * Publish to a topic. messageAttributes as for sqsSendMessage; options: Subject, MessageGroupId,
 * MessageDeduplicationId, MessageStructure. Returns {MessageId}.
 */
async function snsPublish(topicArn, message, messageAttributes_, options = {}) {
  const pairs = [
    ['Action', 'Publish'],
    ['Version', '2010-03-31'],
    ['TopicArn', topicArn],
    ['Message', typeof message === 'string' ? message : JSON.stringify(message)],
  ];
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && value !== null) pairs.push([name, String(value)]);
  }
  Object.entries(messageAttributes(messageAttributes_)).forEach(([name, attr], i) => {
    const prefix = `MessageAttributes.entry.${i + 1}`;
    pairs.push([`${prefix}.Name`, name], [`${prefix}.Value.DataType`, attr.DataType]);
    if (attr.StringValue !== undefined) pairs.push([`${prefix}.Value.StringValue`, attr.StringValue]);
    if (attr.BinaryValue !== undefined) {
      const binary = attr.BinaryValue instanceof Uint8Array
        ? toBuffer(attr.BinaryValue).toString('base64')
        : attr.BinaryValue;
      pairs.push([`${prefix}.Value.BinaryValue`, binary]);
    }
  });
  // A topic lives in the region its ARN names: sign for that region.
  const arnRegion = /^arn:[^:]+:sns:([^:]+):/.exec(topicArn || '');
  const res = await request(SNS, {
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: formEncode(pairs),
    region: arnRegion ? arnRegion[1] : undefined,
  });
  const m = /<MessageId>([^<]+)<\/MessageId>/.exec(res.body.toString('utf8'));
  if (!m) {
    const err = new Error('SNS Publish response has no MessageId');
    err.name = 'InvalidResponse';
    err.status = res.status;
    throw err;
  }
  return { MessageId: m[1] };
}

// ---------------------------------------------------------------- S3 (path-style)

function s3Path(bucket, key) {
  return `/${bucket}/${uriEncode(key, false)}`;
}

/** Store an object; returns {ETag, VersionId?}. */
async function s3PutObject(bucket, key, body, contentType = 'application/octet-stream') {
  const res = await request(S3, {
    method: 'PUT',
    path: s3Path(bucket, key),
    headers: { 'content-type': contentType },
    body,
  });
  const out = { ETag: res.headers.etag };
  if (res.headers['x-amz-version-id']) out.VersionId = res.headers['x-amz-version-id'];
  return out;
}

/** An object's bytes, as a Buffer. */
async function s3GetObject(bucket, key) {
  const res = await request(S3, { method: 'GET', path: s3Path(bucket, key) });
  return res.body;
}

// ---------------------------------------------------------------- DynamoDB (JSON 1.0 protocol)

/** Any DynamoDB operation, e.g. ddb('PutItem', {TableName, Item}); returns the parsed JSON answer. */
function ddb(op, params) {
  return jsonCall(DYNAMODB, `DynamoDB_20120810.${op}`, params);
}

function numberString(n) {
  if (typeof n === 'number' && !Number.isFinite(n)) {
    throw new TypeError(`DynamoDB cannot store the number ${n}`);
  }
  return String(n);
}

/** A plain JS value as a DynamoDB AttributeValue. */
function toAttr(value) {
  if (value === null || value === undefined) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number' || typeof value === 'bigint') return { N: numberString(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value instanceof Uint8Array) return { B: toBuffer(value).toString('base64') };
  if (Array.isArray(value)) return { L: value.map((v) => toAttr(v === undefined ? null : v)) };
  if (value instanceof Set) {
    const items = [...value];
    if (!items.length) throw new TypeError('DynamoDB cannot store an empty set');
    if (items.every((v) => typeof v === 'string')) return { SS: items };
    if (items.every((v) => typeof v === 'number' || typeof v === 'bigint')) return { NS: items.map(numberString) };
    if (items.every((v) => v instanceof Uint8Array)) return { BS: items.map((v) => toBuffer(v).toString('base64')) };
    throw new TypeError('a set for DynamoDB must hold only strings, only numbers or only binaries');
  }
  if (value instanceof Date) return { S: value.toISOString() };
  if (typeof value === 'object') return { M: toItem(value) };
  throw new TypeError(`cannot convert a ${typeof value} to a DynamoDB attribute`);
}

/** A DynamoDB AttributeValue as a plain JS value (N as Number, B as Buffer, sets as arrays). */
function fromAttr(attr) {
  if (!attr || typeof attr !== 'object') return attr;
  if ('S' in attr) return attr.S;
  if ('N' in attr) return Number(attr.N);
  if ('BOOL' in attr) return attr.BOOL;
  if ('NULL' in attr) return null;
  if ('L' in attr) return attr.L.map(fromAttr);
  if ('M' in attr) return fromItem(attr.M);
  if ('B' in attr) return Buffer.from(attr.B, 'base64');
  if ('SS' in attr) return [...attr.SS];
  if ('NS' in attr) return attr.NS.map(Number);
  if ('BS' in attr) return attr.BS.map((b) => Buffer.from(b, 'base64'));
  throw new TypeError(`unknown DynamoDB attribute ${JSON.stringify(Object.keys(attr))}`);
}

/** A plain object as a DynamoDB item (attribute map); undefined properties are left out. */
function toItem(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) {
    if (v !== undefined) out[k] = toAttr(v);
  }
  return out;
}

/** A DynamoDB item (attribute map) as a plain object; a missing item (undefined) gives null. */
function fromItem(item) {
  if (item === undefined || item === null) return null;
  const out = {};
  for (const [k, v] of Object.entries(item)) out[k] = fromAttr(v);
  return out;
}

module.exports = {
  isThrottle,
  lambdaInvoke,
  sqs,
  sqsGetQueueUrl,
  sqsSendMessage,
  snsPublish,
  s3PutObject,
  s3GetObject,
  ddb,
  toAttr,
  fromAttr,
  toItem,
  fromItem,
  request,
  endpointFor,
  signRequest,
  uriEncode,
  SERVICES: { LAMBDA, SQS, SNS, S3, DYNAMODB },
};
