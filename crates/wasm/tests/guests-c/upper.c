// `map` in C: upper-cases a JSON string value, `"hello"` -> `"HELLO"`.
//
// ASCII letters are upper-cased; escapes (`\n`, `\u00e9`) and other UTF-8 bytes are kept as
// they are. A value that is not a single JSON string fails the record with an `err`.

#include <stdlib.h>
#include <string.h>

#include "map.h"

// Fails the call: `err` gets `message`, the host turns it into the record's error.
static bool fail(map_string_t *err, const char *message) {
  map_string_dup(err, message);
  return false;
}

static bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_hex(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Upper-cases the JSON string in `value[0..len]` into `out` (same length). Returns NULL on
// success, else why the value is not one JSON string.
static const char *upper(const uint8_t *value, size_t len, uint8_t *out) {
  size_t i = 0;
  while (i < len && is_space(value[i])) out[i] = value[i], i++;
  if (i == len || value[i] != '"') return "the value is not a JSON string";
  out[i] = value[i];
  i++;
  for (;;) {
    if (i == len) return "the JSON string has no closing quote";
    uint8_t c = value[i];
    if (c == '"') break;
    if (c < 0x20) return "the JSON string contains an unescaped control character";
    if (c == '\\') {
      if (i + 1 == len) return "the JSON string ends inside an escape";
      uint8_t escaped = value[i + 1];
      size_t escape_len = 2;
      if (escaped == 'u') {
        escape_len = 6;
        if (len - i < escape_len) return "the JSON string ends inside an escape";
        for (size_t h = i + 2; h < i + 6; h++) {
          if (!is_hex(value[h])) return "the JSON string has a bad \\u escape";
        }
      } else if (escaped == 0 || strchr("\"\\/bfnrt", escaped) == NULL) {
        return "the JSON string has an unknown escape";
      }
      memcpy(out + i, value + i, escape_len);
      i += escape_len;
      continue;
    }
    out[i] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
    i++;
  }
  out[i] = value[i];
  i++;
  while (i < len && is_space(value[i])) out[i] = value[i], i++;
  if (i != len) return "the value has more after its JSON string";
  return NULL;
}

// The export of world `map`. The input is ours to free; `ret` (on true) and `err` (on false)
// must be allocated with malloc: the bindings free them after the host has copied them.
bool exports_map_map(map_record_t *input, map_list_u8_t *ret, map_string_t *err) {
  size_t len = input->value.len;
  uint8_t *out = malloc(len == 0 ? 1 : len);
  if (out == NULL) {
    map_record_free(input);
    return fail(err, "out of memory");
  }
  const char *problem = upper(input->value.ptr, len, out);
  map_record_free(input);
  if (problem != NULL) {
    free(out);
    return fail(err, problem);
  }
  ret->ptr = out;
  ret->len = len;
  return true;
}
