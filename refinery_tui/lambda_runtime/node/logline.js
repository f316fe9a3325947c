// The structured log lines the runtime writes (one JSON object a line), the twin of lambda_runtime/logline.py.
'use strict';

const { dumps, compact, pyLength, pySlice, SPACED } = require('../../runtime/node/jsontext');

const SMALL = 4096;
const PREVIEW = 200;

// The value as short JSON text: whole when it fits in `limit` characters, else cut with an ellipsis.
function preview(value, limit = PREVIEW) {
  const text = dumps(value, { separators: SPACED, ensureAscii: false });
  return pyLength(text) <= limit ? text : `${pySlice(text, limit - 1)}…`;
}

// [true, value] when the value is small enough to travel whole in a log line, else [false, its preview].
function small(value) {
  return compact(value).length <= SMALL ? [true, value] : [false, preview(value)];
}

function write(event, fields = {}) {
  const record = { refinery: event, ts: Date.now(), ...fields };
  process.stdout.write(`${compact(record)}\n`);
}

// {name: value}, or {name_preview, name_truncated: true} for a value too big for a log line.
function valueFields(name, value) {
  const [whole, shown] = small(value);
  return whole ? { [name]: shown } : { [`${name}_preview`]: shown, [`${name}_truncated`]: true };
}

module.exports = { SMALL, PREVIEW, preview, small, write, valueFields };
