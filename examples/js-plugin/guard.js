// An API-key guard as a wasmgate plugin in JavaScript (the same guard as examples/rust-plugin).
//
// Requests must carry one of the configured keys in a header (default `x-api-key`). A missing or
// wrong key is answered with 401 and a JSON body, and the upstream never sees the request. A good
// key is (by default) removed before forwarding, and the user it belongs to can be passed upstream
// in a header of your choice.
//
// Config (JSON, from the route's `plugin.config`):
//   {"header": "x-api-key", "keys": {"alice": "alice-secret-key"},
//    "userHeader": "x-api-user", "stripKey": true}
//
// The contract is wit/plugin.wit (world `middleware`): the imports below are its `log`
// interface, the export `handler` its hooks. WIT names become camelCase (`set-header` →
// `setHeader`), `result` errors are thrown, `option` is a value or `undefined`, `list<u8>` a
// Uint8Array, a `variant` an object `{ tag, val }`.

import { log } from 'wasmgate:plugin/log@0.1.0';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const KNOWN = new Set(['header', 'keys', 'userHeader', 'stripKey']);
const encoder = new TextEncoder();

function headerName(name, key) {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new Error(`${key}: invalid header name ${JSON.stringify(name)}`);
  }
  return name.toLowerCase();
}

function validHeaderValue(text) {
  for (const b of encoder.encode(text)) {
    if (b !== 0x09 && (b < 0x20 || b === 0x7f)) return false;
  }
  return true;
}

/** Parse and check the config: the same rules and messages as the Rust example. */
function parseConfig(text) {
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`api-key config: ${e.message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error('api-key config: expected a JSON object');
  }
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) throw new Error(`api-key config: unknown field \`${key}\``);
  }
  if (!('keys' in raw)) throw new Error('api-key config: missing field `keys`');
  const header = headerName(raw.header ?? 'x-api-key', 'header');
  let userHeader;
  if (raw.userHeader !== undefined && raw.userHeader !== null) {
    userHeader = headerName(raw.userHeader, 'userHeader');
    if (userHeader === header) {
      throw new Error(`userHeader: must differ from header ${JSON.stringify(header)}`);
    }
  }
  const stripKey = raw.stripKey ?? true;
  if (typeof stripKey !== 'boolean') throw new Error('api-key config: stripKey must be true or false');
  const entries = raw.keys && typeof raw.keys === 'object' ? Object.entries(raw.keys).sort() : [];
  if (entries.length === 0) throw new Error('keys: at least one user and key are required');
  const keys = [];
  for (const [user, key] of entries) {
    if (typeof key !== 'string') {
      throw new Error(`keys: the key of user ${JSON.stringify(user)} must be a string`);
    }
    if (userHeader !== undefined && !validHeaderValue(user)) {
      throw new Error(`keys: user name ${JSON.stringify(user)} cannot be sent in userHeader`);
    }
    if (key === '') throw new Error(`keys: the key of user ${JSON.stringify(user)} is empty`);
    const other = keys.find((k) => k.text === key);
    if (other) {
      throw new Error(`keys: users ${JSON.stringify(other.user)} and ${JSON.stringify(user)} share a key`);
    }
    keys.push({ user, text: key, bytes: encoder.encode(key) });
  }
  return { header, keys, userHeader, stripKey };
}

/** Compares in time independent of where the first difference is. */
function constantTimeEq(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function unauthorized(reason) {
  return {
    tag: 'respond',
    val: {
      status: 401,
      headers: [
        ['content-type', encoder.encode('application/json')],
        ['www-authenticate', encoder.encode('ApiKey')],
      ],
      body: encoder.encode(JSON.stringify({ error: reason })),
    },
  };
}

// Parsed once per instance by `init`; in `pooled` isolation one instance serves many requests
// (one at a time), so nothing per-request is kept here.
let config;

export const handler = {
  validateConfig(text) {
    try {
      parseConfig(text);
    } catch (e) {
      throw e.message;
    }
  },

  init(text) {
    try {
      config = parseConfig(text);
    } catch (e) {
      throw e.message;
    }
  },

  onRequest(req) {
    const presented = req.header(config.header);
    if (presented === undefined) return unauthorized('missing API key');
    let user;
    for (const k of config.keys) {
      if (constantTimeEq(k.bytes, presented)) user = k.user;
    }
    if (user === undefined) {
      log('info', `api-key: rejected a wrong key from ${req.clientAddr()}`);
      return unauthorized('invalid API key');
    }
    if (config.stripKey) req.removeHeader(config.header);
    if (config.userHeader !== undefined) {
      try {
        req.setHeader(config.userHeader, encoder.encode(user));
      } catch (e) {
        log('error', `api-key: cannot pass user ${JSON.stringify(user)} upstream: ${JSON.stringify(e.payload ?? e)}`);
        return { tag: 'respond', val: { status: 500, headers: [], body: encoder.encode('internal error\n') } };
      }
    }
    return { tag: 'continue' };
  },

  onResponse(_req, _resp) {
    return { tag: 'continue' };
  },
};
