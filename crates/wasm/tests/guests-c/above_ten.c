// `filter` in C: keeps records whose value is a JSON number greater than 10.
//
// A value that is not a JSON number fails the record with an `err`.

#include <stdlib.h>
#include <string.h>

#include "filter.h"

static bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

// Whether `text[0..len]` is exactly one JSON number (RFC 8259 grammar, no surrounding space).
static bool is_json_number(const uint8_t *text, size_t len) {
  size_t i = 0;
  if (i < len && text[i] == '-') i++;
  if (i == len) return false;
  if (text[i] == '0') {
    i++;
  } else if (is_digit(text[i])) {
    while (i < len && is_digit(text[i])) i++;
  } else {
    return false;
  }
  if (i < len && text[i] == '.') {
    i++;
    if (i == len || !is_digit(text[i])) return false;
    while (i < len && is_digit(text[i])) i++;
  }
  if (i < len && (text[i] == 'e' || text[i] == 'E')) {
    i++;
    if (i < len && (text[i] == '+' || text[i] == '-')) i++;
    if (i == len || !is_digit(text[i])) return false;
    while (i < len && is_digit(text[i])) i++;
  }
  return i == len;
}

// The export of world `filter`. The input is ours to free; `err` (on false) must be
// allocated with malloc: the bindings free it after the host has copied it.
bool exports_filter_filter(filter_record_t *input, bool *ret, filter_string_t *err) {
  const uint8_t *value = input->value.ptr;
  size_t start = 0, end = input->value.len;
  while (start < end && is_space(value[start])) start++;
  while (end > start && is_space(value[end - 1])) end--;
  if (!is_json_number(value + start, end - start)) {
    filter_record_free(input);
    filter_string_dup(err, "the value is not a JSON number");
    return false;
  }
  // strtod needs a NUL-terminated copy; the grammar check above keeps it from reading
  // anything JSON does not allow (hex, inf, nan).
  char *number = malloc(end - start + 1);
  if (number == NULL) {
    filter_record_free(input);
    filter_string_dup(err, "out of memory");
    return false;
  }
  memcpy(number, value + start, end - start);
  number[end - start] = '\0';
  *ret = strtod(number, NULL) > 10.0;
  free(number);
  filter_record_free(input);
  return true;
}
