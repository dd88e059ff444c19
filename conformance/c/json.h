/*
 * A small JSON tree for the C interpreter of the conformance suite: parse, build, print.
 * Numbers keep their literal text, so they print back as they came (no float rounding).
 * Every jval is owned by its parent; j_free frees a tree.
 */
#ifndef CONFORMANCE_JSON_H
#define CONFORMANCE_JSON_H

#include <stddef.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype type;
  int boolean;
  char *text;      /* J_NUM: the literal; J_STR: the bytes (NUL-terminated, may hold NULs: see len) */
  size_t len;      /* J_STR: byte length */
  struct jval **items;
  char **keys;     /* J_OBJ: items[i] is the value of keys[i] */
  size_t n, cap;
} jval;

/* Parses len bytes of text; NULL on error with a message in err (static storage). */
jval *j_parse(const char *text, size_t len, const char **err);
void j_free(jval *v);
jval *j_clone(const jval *v);

jval *j_null(void);
jval *j_bool(int b);
jval *j_int(long long n);
jval *j_str(const char *s, size_t len);
jval *j_cstr(const char *s);
jval *j_arr(void);
jval *j_obj(void);
/* Appends v (ownership passes to arr). */
void j_push(jval *arr, jval *v);
/* Sets key to v in obj, replacing (and freeing) an earlier value (ownership passes to obj). */
void j_set(jval *obj, const char *key, jval *v);
/* The value of key, or NULL. */
jval *j_get(const jval *obj, const char *key);
/* The value of key when it is a string, else NULL. */
const char *j_getstr(const jval *obj, const char *key);
/* The value of key as an integer, or dflt. */
long long j_getint(const jval *obj, const char *key, long long dflt);
int j_getbool(const jval *obj, const char *key);
long long j_asint(const jval *v);

/* Prints v as compact JSON; the caller frees the result. *len_out (may be NULL) gets its length. */
char *j_dump(const jval *v, size_t *len_out);

#endif
