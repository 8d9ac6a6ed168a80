// An API-key guard as a wasmgate plugin in C (the same guard as examples/rust-plugin).
//
// Requests must carry one of the configured keys in a header (default `x-api-key`). A missing or
// wrong key is answered with 401 and a JSON body, and the upstream never sees the request. A good
// key is (by default) removed before forwarding, and the user it belongs to can be passed upstream
// in a header of your choice.
//
// Config (JSON): {"header": "x-api-key", "keys": {"alice": "alice-secret-key"},
//                 "userHeader": "x-api-user", "stripKey": true}
//
// The contract is wit/plugin.wit (world `middleware`); `middleware.h` is generated from it at
// build time (wit-bindgen's C generator). Memory the host takes back (a reply, an error string)
// must come from malloc: the generated code frees it after the call.

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "middleware.h"

typedef struct {
  char *user;
  char *key;
  size_t key_len;
} entry_t;

typedef struct {
  char *header;       // lower-case
  char *user_header;  // lower-case, or NULL
  bool strip_key;
  entry_t *keys;
  size_t nkeys;
} config_t;

// Concatenates up to five parts (NULL ends early) into `out`, cut to fit. (No printf: libc's
// stdio would pull in WASI file descriptors, which this plugin has no use for.)
static void cat(char *out, size_t cap, const char *a, const char *b, const char *c, const char *d, const char *e) {
  const char *parts[5] = {a, b, c, d, e};
  size_t n = 0;
  for (int i = 0; i < 5 && parts[i]; i++)
    for (const char *p = parts[i]; *p && n + 1 < cap; p++) out[n++] = *p;
  out[n] = 0;
}

// ---- a small JSON reader: objects, strings, true/false/null, numbers (skipped) ----

typedef struct {
  const char *p, *end;
  char err[256];
} reader_t;

static void ws(reader_t *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static bool fail(reader_t *r, const char *msg) {
  if (!r->err[0]) cat(r->err, sizeof r->err, "api-key config: ", msg, NULL, NULL, NULL);
  return false;
}

static bool expect(reader_t *r, char c) {
  ws(r);
  if (r->p >= r->end || *r->p != c) return fail(r, "invalid JSON");
  r->p++;
  return true;
}

static void put_utf8(char *out, size_t *n, uint32_t c) {
  if (c < 0x80) out[(*n)++] = (char)c;
  else if (c < 0x800) { out[(*n)++] = (char)(0xC0 | (c >> 6)); out[(*n)++] = (char)(0x80 | (c & 0x3F)); }
  else { out[(*n)++] = (char)(0xE0 | (c >> 12)); out[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3F)); out[(*n)++] = (char)(0x80 | (c & 0x3F)); }
}

// A string, unescaped into a malloc'd NUL-terminated buffer (`*len` without the NUL).
static bool read_string(reader_t *r, char **out, size_t *len) {
  ws(r);
  if (r->p >= r->end || *r->p != '"') return fail(r, "invalid JSON: expected a string");
  r->p++;
  char *buf = malloc((size_t)(r->end - r->p) * 3 + 1);
  size_t n = 0;
  while (r->p < r->end && *r->p != '"') {
    char c = *r->p++;
    if (c != '\\') { buf[n++] = c; continue; }
    if (r->p >= r->end) break;
    char e = *r->p++;
    switch (e) {
      case 'n': buf[n++] = '\n'; break;
      case 't': buf[n++] = '\t'; break;
      case 'r': buf[n++] = '\r'; break;
      case 'b': buf[n++] = '\b'; break;
      case 'f': buf[n++] = '\f'; break;
      case 'u': {
        if (r->end - r->p < 4) { free(buf); return fail(r, "invalid JSON escape"); }
        char hex[5] = {r->p[0], r->p[1], r->p[2], r->p[3], 0};
        r->p += 4;
        put_utf8(buf, &n, (uint32_t)strtoul(hex, NULL, 16));
        break;
      }
      default: buf[n++] = e;
    }
  }
  if (r->p >= r->end) { free(buf); return fail(r, "invalid JSON: unterminated string"); }
  r->p++;
  buf[n] = 0;
  *out = buf;
  *len = n;
  return true;
}

static bool skip_value(reader_t *r);

static bool skip_object(reader_t *r) {
  if (!expect(r, '{')) return false;
  ws(r);
  if (r->p < r->end && *r->p == '}') { r->p++; return true; }
  for (;;) {
    char *k; size_t kl;
    if (!read_string(r, &k, &kl)) return false;
    free(k);
    if (!expect(r, ':') || !skip_value(r)) return false;
    ws(r);
    if (r->p < r->end && *r->p == ',') { r->p++; continue; }
    return expect(r, '}');
  }
}

static bool skip_value(reader_t *r) {
  ws(r);
  if (r->p >= r->end) return fail(r, "invalid JSON");
  if (*r->p == '"') { char *s; size_t l; if (!read_string(r, &s, &l)) return false; free(s); return true; }
  if (*r->p == '{') return skip_object(r);
  if (*r->p == '[') {
    r->p++; ws(r);
    if (r->p < r->end && *r->p == ']') { r->p++; return true; }
    for (;;) {
      if (!skip_value(r)) return false;
      ws(r);
      if (r->p < r->end && *r->p == ',') { r->p++; continue; }
      return expect(r, ']');
    }
  }
  while (r->p < r->end && strchr("-+.0123456789eEtruefalsn", *r->p)) r->p++;
  return true;
}

// true, false or null (null leaves `*out` as it was).
static bool read_bool(reader_t *r, bool *out, const char *field) {
  ws(r);
  size_t left = (size_t)(r->end - r->p);
  if (left >= 4 && !memcmp(r->p, "true", 4)) { r->p += 4; *out = true; return true; }
  if (left >= 5 && !memcmp(r->p, "false", 5)) { r->p += 5; *out = false; return true; }
  if (left >= 4 && !memcmp(r->p, "null", 4)) { r->p += 4; return true; }
  char msg[96];
  cat(msg, sizeof msg, field, " must be true or false", NULL, NULL, NULL);
  return fail(r, msg);
}

static bool is_token(const char *s) {
  if (!*s) return false;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c)))
      return false;
  }
  return true;
}

static void lower(char *s) {
  for (; *s; s++) if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
}

static bool header_value_ok(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c != '\t' && (c < 0x20 || c == 0x7F)) return false;
  }
  return true;
}

// Parse and check: the same rules and messages as the Rust example.
static bool parse_config(const uint8_t *text, size_t len, config_t *c, char *err, size_t errlen) {
  reader_t r = {(const char *)text, (const char *)text + len, {0}};
  memset(c, 0, sizeof *c);
  c->strip_key = true;
  bool have_keys = false;
  entry_t *keys = NULL;
  size_t nkeys = 0;
  if (!expect(&r, '{')) goto bad;
  ws(&r);
  if (r.p < r.end && *r.p == '}') r.p++;
  else for (;;) {
    char *field; size_t fl;
    if (!read_string(&r, &field, &fl) || !expect(&r, ':')) goto bad;
    if (!strcmp(field, "header")) {
      size_t l; if (!read_string(&r, &c->header, &l)) goto bad;
    } else if (!strcmp(field, "userHeader")) {
      ws(&r);
      if (r.end - r.p >= 4 && !memcmp(r.p, "null", 4)) r.p += 4;
      else { size_t l; if (!read_string(&r, &c->user_header, &l)) goto bad; }
    } else if (!strcmp(field, "stripKey")) {
      if (!read_bool(&r, &c->strip_key, "stripKey")) goto bad;
    } else if (!strcmp(field, "keys")) {
      have_keys = true;
      if (!expect(&r, '{')) goto bad;
      ws(&r);
      if (r.p < r.end && *r.p == '}') r.p++;
      else for (;;) {
        entry_t e; size_t ul;
        if (!read_string(&r, &e.user, &ul) || !expect(&r, ':') || !read_string(&r, &e.key, &e.key_len)) goto bad;
        keys = realloc(keys, (nkeys + 1) * sizeof *keys);
        keys[nkeys++] = e;
        ws(&r);
        if (r.p < r.end && *r.p == ',') { r.p++; continue; }
        if (!expect(&r, '}')) goto bad;
        break;
      }
    } else {
      cat(err, errlen, "api-key config: unknown field `", field, "`", NULL, NULL);
      free(field);
      return false;
    }
    free(field);
    ws(&r);
    if (r.p < r.end && *r.p == ',') { r.p++; continue; }
    if (!expect(&r, '}')) goto bad;
    break;
  }
  if (!have_keys) { cat(err, errlen, "api-key config: missing field `keys`", NULL, NULL, NULL, NULL); return false; }
  if (!c->header) c->header = strdup("x-api-key");
  if (!is_token(c->header)) { cat(err, errlen, "header: invalid header name \"", c->header, "\"", NULL, NULL); return false; }
  lower(c->header);
  if (c->user_header) {
    if (!is_token(c->user_header)) { cat(err, errlen, "userHeader: invalid header name \"", c->user_header, "\"", NULL, NULL); return false; }
    lower(c->user_header);
    if (!strcmp(c->user_header, c->header)) { cat(err, errlen, "userHeader: must differ from header \"", c->header, "\"", NULL, NULL); return false; }
  }
  if (nkeys == 0) { cat(err, errlen, "keys: at least one user and key are required", NULL, NULL, NULL, NULL); return false; }
  // Users in name order, like the Rust example's BTreeMap, so messages name them the same way.
  for (size_t i = 1; i < nkeys; i++)
    for (size_t j = i; j > 0 && strcmp(keys[j - 1].user, keys[j].user) > 0; j--) {
      entry_t t = keys[j]; keys[j] = keys[j - 1]; keys[j - 1] = t;
    }
  for (size_t i = 0; i < nkeys; i++) {
    if (c->user_header && !header_value_ok(keys[i].user)) {
      cat(err, errlen, "keys: user name \"", keys[i].user, "\" cannot be sent in userHeader", NULL, NULL); return false;
    }
    if (keys[i].key_len == 0) { cat(err, errlen, "keys: the key of user \"", keys[i].user, "\" is empty", NULL, NULL); return false; }
    for (size_t j = 0; j < i; j++)
      if (keys[j].key_len == keys[i].key_len && !memcmp(keys[j].key, keys[i].key, keys[i].key_len)) {
        cat(err, errlen, "keys: users \"", keys[j].user, "\" and \"", keys[i].user, "\" share a key"); return false;
      }
  }
  c->keys = keys;
  c->nkeys = nkeys;
  return true;
bad:
  cat(err, errlen, r.err[0] ? r.err : "api-key config: invalid JSON", NULL, NULL, NULL, NULL);
  return false;
}

// ---- the hooks ----

// Parsed once per instance by `init`; in `pooled` isolation one instance serves many requests
// (one at a time), so nothing per-request is kept here.
static config_t config;

static bool check(middleware_string_t *text, config_t *out, middleware_string_t *err) {
  char msg[512];
  bool ok = parse_config(text->ptr, text->len, out, msg, sizeof msg);
  middleware_string_free(text);
  if (!ok) middleware_string_dup(err, msg);
  return ok;
}

bool exports_wasmgate_plugin_handler_validate_config(middleware_string_t *text, middleware_string_t *err) {
  config_t scratch;
  return check(text, &scratch, err);
}

bool exports_wasmgate_plugin_handler_init(middleware_string_t *text, middleware_string_t *err) {
  return check(text, &config, err);
}

static middleware_list_u8_t bytes_of(const char *s) {
  size_t n = strlen(s);
  middleware_list_u8_t l = {malloc(n ? n : 1), n};
  memcpy(l.ptr, s, n);
  return l;
}

static void header(wasmgate_plugin_http_header_t *h, const char *name, const char *value) {
  middleware_string_dup(&h->f0, name);
  h->f1 = bytes_of(value);
}

static void respond(exports_wasmgate_plugin_handler_action_t *ret, uint16_t status, const char *body, bool json) {
  ret->tag = WASMGATE_PLUGIN_HTTP_ACTION_RESPOND;
  wasmgate_plugin_http_reply_t *reply = &ret->val.respond;
  reply->status = status;
  reply->headers.len = json ? 2 : 0;
  reply->headers.ptr = malloc(2 * sizeof(wasmgate_plugin_http_header_t));
  if (json) {
    header(&reply->headers.ptr[0], "content-type", "application/json");
    header(&reply->headers.ptr[1], "www-authenticate", "ApiKey");
  }
  reply->body = bytes_of(body);
}

static void unauthorized(exports_wasmgate_plugin_handler_action_t *ret, const char *reason) {
  char body[128];
  cat(body, sizeof body, "{\"error\":\"", reason, "\"}", NULL, NULL);
  respond(ret, 401, body, true);
}

// Compares in time independent of where the first difference is.
static bool constant_time_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  if (al != bl) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < al; i++) diff |= a[i] ^ b[i];
  return diff == 0;
}

static void log_line(wasmgate_plugin_log_log_level_t level, const char *text) {
  middleware_string_t s;
  middleware_string_set(&s, text);
  wasmgate_plugin_log_log(level, &s);
}

static void on_request(wasmgate_plugin_http_borrow_request_t req, exports_wasmgate_plugin_handler_action_t *ret) {
  middleware_string_t name;
  middleware_string_set(&name, config.header);
  middleware_list_u8_t presented;
  if (!wasmgate_plugin_http_method_request_header(req, &name, &presented)) {
    unauthorized(ret, "missing API key");
    return;
  }
  const char *user = NULL;
  for (size_t i = 0; i < config.nkeys; i++)
    if (constant_time_eq((const uint8_t *)config.keys[i].key, config.keys[i].key_len, presented.ptr, presented.len))
      user = config.keys[i].user;
  middleware_list_u8_free(&presented);
  if (!user) {
    middleware_string_t addr;
    wasmgate_plugin_http_method_request_client_addr(req, &addr);
    char who[64];
    size_t n = addr.len < sizeof who - 1 ? addr.len : sizeof who - 1;
    memcpy(who, addr.ptr, n);
    who[n] = 0;
    middleware_string_free(&addr);
    char line[160];
    cat(line, sizeof line, "api-key: rejected a wrong key from ", who, NULL, NULL, NULL);
    log_line(WASMGATE_PLUGIN_TYPES_LOG_LEVEL_INFO, line);
    unauthorized(ret, "invalid API key");
    return;
  }
  if (config.strip_key) wasmgate_plugin_http_method_request_remove_header(req, &name);
  if (config.user_header) {
    middleware_string_t uh;
    middleware_string_set(&uh, config.user_header);
    middleware_list_u8_t value = {(uint8_t *)user, strlen(user)};
    wasmgate_plugin_http_edit_error_t e;
    if (!wasmgate_plugin_http_method_request_set_header(req, &uh, &value, &e)) {
      wasmgate_plugin_http_edit_error_free(&e);
      log_line(WASMGATE_PLUGIN_TYPES_LOG_LEVEL_ERROR, "api-key: cannot pass the user upstream");
      respond(ret, 500, "internal error\n", false);
      return;
    }
  }
  ret->tag = WASMGATE_PLUGIN_HTTP_ACTION_CONTINUE;
}

// The heads are lent for the call: the component model requires a borrowed handle to be dropped
// before the hook returns (the C bindings leave that to you).
void exports_wasmgate_plugin_handler_on_request(exports_wasmgate_plugin_handler_borrow_request_t req,
                                                exports_wasmgate_plugin_handler_action_t *ret) {
  on_request(req, ret);
  wasmgate_plugin_http_request_drop_borrow(req);
}

void exports_wasmgate_plugin_handler_on_response(exports_wasmgate_plugin_handler_borrow_request_t req,
                                                 exports_wasmgate_plugin_handler_borrow_response_t resp,
                                                 exports_wasmgate_plugin_handler_action_t *ret) {
  ret->tag = WASMGATE_PLUGIN_HTTP_ACTION_CONTINUE;
  wasmgate_plugin_http_response_drop_borrow(resp);
  wasmgate_plugin_http_request_drop_borrow(req);
}
