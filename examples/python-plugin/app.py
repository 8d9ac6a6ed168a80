"""An API-key guard as a wasmgate plugin in Python (the same guard as examples/rust-plugin).

Requests must carry one of the configured keys in a header (default `x-api-key`). A missing or
wrong key is answered with 401 and a JSON body, and the upstream never sees the request. A good
key is (by default) removed before forwarding, and the user it belongs to can be passed upstream
in a header of your choice.

Config (JSON, from the route's `plugin.config`):
    {"header": "x-api-key", "keys": {"alice": "alice-secret-key"},
     "userHeader": "x-api-user", "stripKey": true}

The contract is wit/plugin.wit (world `middleware`); componentize-py generates the `wit_world`
package this file imports from it at build time.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import http, log, types

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KNOWN = {"header", "keys", "userHeader", "stripKey"}


def _check_header_name(name, key):
    if not isinstance(name, str) or not name or any(c not in _TOKEN for c in name):
        raise ValueError(f"{key}: invalid header name {json.dumps(name)}")
    return name.lower()


def _valid_header_value(value):
    return all(b == 0x09 or 0x20 <= b != 0x7F for b in value.encode("utf-8"))


_MAX_DEPTH = 32


def _nesting_depth(text):
    """How deep `[` and `{` nest in `text`, outside JSON strings (one pass, no allocation)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


class Config:
    """The checked config: the same rules and messages as the Rust example."""

    def __init__(self, text):
        # Deeply nested JSON would exhaust the call stack inside CPython's parser, a trap no
        # `except` catches (found by `wasmgate plugin test`'s garbage configs): refuse it first.
        if _nesting_depth(text) > _MAX_DEPTH:
            raise ValueError(f"api-key config: nested deeper than {_MAX_DEPTH} levels")
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise ValueError(f"api-key config: {e}") from None
        if not isinstance(raw, dict):
            raise ValueError("api-key config: expected a JSON object")
        for key in raw:
            if key not in _KNOWN:
                raise ValueError(f"api-key config: unknown field `{key}`")
        if "keys" not in raw:
            raise ValueError("api-key config: missing field `keys`")
        self.header = _check_header_name(raw.get("header", "x-api-key"), "header")
        user_header = raw.get("userHeader")
        if user_header is not None:
            user_header = _check_header_name(user_header, "userHeader")
            if user_header == self.header:
                raise ValueError(f'userHeader: must differ from header "{self.header}"')
        self.user_header = user_header
        strip = raw.get("stripKey", True)
        if not isinstance(strip, bool):
            raise ValueError("api-key config: stripKey must be true or false")
        self.strip_key = strip
        keys = raw["keys"]
        if not isinstance(keys, dict) or not keys:
            raise ValueError("keys: at least one user and key are required")
        self.keys = []
        for user, key in sorted(keys.items()):
            if not isinstance(key, str):
                raise ValueError(f"keys: the key of user {json.dumps(user)} must be a string")
            if user_header is not None and not _valid_header_value(user):
                raise ValueError(f"keys: user name {json.dumps(user)} cannot be sent in userHeader")
            if not key:
                raise ValueError(f"keys: the key of user {json.dumps(user)} is empty")
            for other, known in self.keys:
                if known == key.encode():
                    raise ValueError(f"keys: users {json.dumps(other)} and {json.dumps(user)} share a key")
            self.keys.append((user, key.encode()))


def _constant_time_eq(a, b):
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0


def _unauthorized(reason):
    body = json.dumps({"error": reason}, separators=(",", ":")).encode()
    return http.Action_Respond(http.Reply(
        status=401,
        headers=[("content-type", b"application/json"), ("www-authenticate", b"ApiKey")],
        body=body,
    ))


class Handler(exports.Handler):
    """The exported hooks. One instance of this module serves one call at a time; in `pooled`
    isolation it serves many requests, so per-request data never goes in module state."""

    config = None

    def validate_config(self, config):
        try:
            Config(config)
        except ValueError as e:
            raise Err(str(e))

    def init(self, config):
        try:
            Handler.config = Config(config)
        except ValueError as e:
            raise Err(str(e))

    def on_request(self, req):
        config = Handler.config
        presented = req.header(config.header)
        if presented is None:
            return _unauthorized("missing API key")
        found = None
        for user, key in config.keys:
            if _constant_time_eq(key, presented):
                found = user
        if found is None:
            log.log(types.LogLevel.INFO, f"api-key: rejected a wrong key from {req.client_addr()}")
            return _unauthorized("invalid API key")
        if config.strip_key:
            req.remove_header(config.header)
        if config.user_header is not None:
            try:
                req.set_header(config.user_header, found.encode())
            except Err as e:
                log.log(types.LogLevel.ERROR, f"api-key: cannot pass user {found!r} upstream: {e.value}")
                return http.Action_Respond(http.Reply(status=500, headers=[], body=b"internal error\n"))
        return http.Action_Continue()

    def on_response(self, req, resp):
        return http.Action_Continue()
