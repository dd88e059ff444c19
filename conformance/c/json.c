#define _GNU_SOURCE
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ---- */

static jval *j_new(jtype t) {
  jval *v = calloc(1, sizeof *v);
  if (!v) abort();
  v->type = t;
  return v;
}

jval *j_null(void) { return j_new(J_NULL); }

jval *j_bool(int b) {
  jval *v = j_new(J_BOOL);
  v->boolean = b != 0;
  return v;
}

jval *j_int(long long n) {
  jval *v = j_new(J_NUM);
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", n);
  v->text = strdup(buf);
  return v;
}

jval *j_str(const char *s, size_t len) {
  jval *v = j_new(J_STR);
  v->text = malloc(len + 1);
  if (!v->text) abort();
  memcpy(v->text, s, len);
  v->text[len] = 0;
  v->len = len;
  return v;
}

jval *j_cstr(const char *s) { return j_str(s, strlen(s)); }
jval *j_arr(void) { return j_new(J_ARR); }
jval *j_obj(void) { return j_new(J_OBJ); }

static void grow(jval *c) {
  if (c->n < c->cap) return;
  c->cap = c->cap ? c->cap * 2 : 4;
  c->items = realloc(c->items, c->cap * sizeof *c->items);
  if (c->type == J_OBJ) c->keys = realloc(c->keys, c->cap * sizeof *c->keys);
  if (!c->items || (c->type == J_OBJ && !c->keys)) abort();
}

void j_push(jval *arr, jval *v) {
  grow(arr);
  arr->items[arr->n++] = v;
}

void j_set(jval *obj, const char *key, jval *v) {
  for (size_t i = 0; i < obj->n; i++) {
    if (strcmp(obj->keys[i], key) == 0) {
      j_free(obj->items[i]);
      obj->items[i] = v;
      return;
    }
  }
  grow(obj);
  obj->keys[obj->n] = strdup(key);
  obj->items[obj->n++] = v;
}

jval *j_get(const jval *obj, const char *key) {
  if (!obj || obj->type != J_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++) {
    if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
  }
  return NULL;
}

const char *j_getstr(const jval *obj, const char *key) {
  jval *v = j_get(obj, key);
  return v && v->type == J_STR ? v->text : NULL;
}

long long j_asint(const jval *v) { return v && v->type == J_NUM ? strtoll(v->text, NULL, 10) : 0; }

long long j_getint(const jval *obj, const char *key, long long dflt) {
  jval *v = j_get(obj, key);
  return v && v->type == J_NUM ? j_asint(v) : dflt;
}

int j_getbool(const jval *obj, const char *key) {
  jval *v = j_get(obj, key);
  return v && v->type == J_BOOL && v->boolean;
}

void j_free(jval *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    j_free(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->text);
  free(v);
}

jval *j_clone(const jval *v) {
  if (!v) return j_null();
  jval *c = j_new(v->type);
  c->boolean = v->boolean;
  if (v->text) {
    c->text = malloc(v->len + strlen(v->text) + 1);
    if (!c->text) abort();
    memcpy(c->text, v->text, (v->type == J_STR ? v->len : strlen(v->text)) + 1);
    c->len = v->len;
  }
  for (size_t i = 0; i < v->n; i++) {
    if (v->type == J_OBJ) {
      j_set(c, v->keys[i], j_clone(v->items[i]));
    } else {
      j_push(c, j_clone(v->items[i]));
    }
  }
  return c;
}

/* ---- parsing ---- */

typedef struct {
  const char *p, *end;
  const char *err;
} parser;

static void ws(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static jval *value(parser *ps, int depth);

static int hex4(parser *ps, unsigned *out) {
  if (ps->end - ps->p < 4) return 0;
  unsigned u = 0;
  for (int i = 0; i < 4; i++) {
    char c = ps->p[i];
    u <<= 4;
    if (c >= '0' && c <= '9') u |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') u |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') u |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  ps->p += 4;
  *out = u;
  return 1;
}

static void put_utf8(char **buf, size_t *n, size_t *cap, unsigned cp) {
  if (*n + 4 >= *cap) {
    *cap = *cap * 2 + 8;
    *buf = realloc(*buf, *cap);
    if (!*buf) abort();
  }
  char *b = *buf;
  if (cp < 0x80) {
    b[(*n)++] = (char)cp;
  } else if (cp < 0x800) {
    b[(*n)++] = (char)(0xC0 | (cp >> 6));
    b[(*n)++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    b[(*n)++] = (char)(0xE0 | (cp >> 12));
    b[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[(*n)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    b[(*n)++] = (char)(0xF0 | (cp >> 18));
    b[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[(*n)++] = (char)(0x80 | (cp & 0x3F));
  }
}

static jval *string(parser *ps) {
  ps->p++; /* the opening quote */
  size_t cap = 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) abort();
  while (ps->p < ps->end && *ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p++;
    if (c == '\\') {
      if (ps->p >= ps->end) break;
      char e = *ps->p++;
      unsigned cp;
      switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
          if (!hex4(ps, &cp)) goto bad;
          if (cp >= 0xD800 && cp < 0xDC00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
            unsigned lo;
            ps->p += 2;
            if (!hex4(ps, &lo)) goto bad;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          break;
        default: goto bad;
      }
      put_utf8(&buf, &n, &cap, cp);
    } else {
      if (n + 1 >= cap) {
        cap *= 2;
        buf = realloc(buf, cap);
        if (!buf) abort();
      }
      buf[n++] = (char)c;
    }
  }
  if (ps->p >= ps->end) goto bad;
  ps->p++; /* the closing quote */
  jval *v = j_new(J_STR);
  buf[n] = 0;
  v->text = buf;
  v->len = n;
  return v;
bad:
  free(buf);
  ps->err = "bad string";
  return NULL;
}

static jval *value(parser *ps, int depth) {
  if (depth > 200) {
    ps->err = "too deep";
    return NULL;
  }
  ws(ps);
  if (ps->p >= ps->end) {
    ps->err = "unexpected end";
    return NULL;
  }
  char c = *ps->p;
  if (c == '"') return string(ps);
  if (c == '{' || c == '[') {
    int obj = c == '{';
    jval *v = obj ? j_obj() : j_arr();
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
      ps->p++;
      return v;
    }
    while (1) {
      ws(ps);
      jval *key = NULL;
      if (obj) {
        if (ps->p >= ps->end || *ps->p != '"' || !(key = string(ps))) {
          ps->err = "expected a key";
          j_free(v);
          return NULL;
        }
        ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
          ps->err = "expected ':'";
          j_free(key);
          j_free(v);
          return NULL;
        }
        ps->p++;
      }
      jval *item = value(ps, depth + 1);
      if (!item) {
        j_free(key);
        j_free(v);
        return NULL;
      }
      if (obj) {
        j_set(v, key->text, item);
        j_free(key);
      } else {
        j_push(v, item);
      }
      ws(ps);
      if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        continue;
      }
      if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
        ps->p++;
        return v;
      }
      ps->err = "expected ',' or a closing bracket";
      j_free(v);
      return NULL;
    }
  }
  if (ps->end - ps->p >= 4 && strncmp(ps->p, "null", 4) == 0) {
    ps->p += 4;
    return j_null();
  }
  if (ps->end - ps->p >= 4 && strncmp(ps->p, "true", 4) == 0) {
    ps->p += 4;
    return j_bool(1);
  }
  if (ps->end - ps->p >= 5 && strncmp(ps->p, "false", 5) == 0) {
    ps->p += 5;
    return j_bool(0);
  }
  const char *start = ps->p;
  while (ps->p < ps->end && strchr("+-0123456789.eE", *ps->p)) ps->p++;
  if (ps->p == start) {
    ps->err = "unexpected character";
    return NULL;
  }
  jval *v = j_new(J_NUM);
  v->text = strndup(start, (size_t)(ps->p - start));
  return v;
}

jval *j_parse(const char *text, size_t len, const char **err) {
  parser ps = {text, text + len, NULL};
  jval *v = value(&ps, 0);
  if (v) {
    ws(&ps);
    if (ps.p != ps.end) {
      j_free(v);
      v = NULL;
      ps.err = "trailing characters";
    }
  }
  if (!v && err) *err = ps.err ? ps.err : "invalid JSON";
  return v;
}

/* ---- printing ---- */

typedef struct {
  char *buf;
  size_t n, cap;
} sbuf;

static void put(sbuf *s, const char *p, size_t len) {
  if (s->n + len + 1 > s->cap) {
    while (s->n + len + 1 > s->cap) s->cap = s->cap * 2 + 64;
    s->buf = realloc(s->buf, s->cap);
    if (!s->buf) abort();
  }
  memcpy(s->buf + s->n, p, len);
  s->n += len;
  s->buf[s->n] = 0;
}

static void put_string(sbuf *s, const char *p, size_t len) {
  put(s, "\"", 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      put(s, e, 2);
    } else if (c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", c);
      put(s, e, 6);
    } else {
      put(s, (const char *)&p[i], 1);
    }
  }
  put(s, "\"", 1);
}

static void dump(sbuf *s, const jval *v) {
  switch (v->type) {
    case J_NULL: put(s, "null", 4); break;
    case J_BOOL: put(s, v->boolean ? "true" : "false", v->boolean ? 4 : 5); break;
    case J_NUM: put(s, v->text, strlen(v->text)); break;
    case J_STR: put_string(s, v->text, v->len); break;
    case J_ARR:
    case J_OBJ:
      put(s, v->type == J_ARR ? "[" : "{", 1);
      for (size_t i = 0; i < v->n; i++) {
        if (i) put(s, ",", 1);
        if (v->type == J_OBJ) {
          put_string(s, v->keys[i], strlen(v->keys[i]));
          put(s, ":", 1);
        }
        dump(s, v->items[i]);
      }
      put(s, v->type == J_ARR ? "]" : "}", 1);
      break;
  }
}

char *j_dump(const jval *v, size_t *len_out) {
  sbuf s = {NULL, 0, 0};
  put(&s, "", 0);
  dump(&s, v);
  if (len_out) *len_out = s.n;
  return s.buf;
}
