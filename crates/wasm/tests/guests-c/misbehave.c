// `map` in C that misbehaves on request: the value `1` prints (a WASI call, which Eddy does
// not provide), `2` aborts (a trap); any other value is returned as it is.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

bool exports_map_map(map_record_t *input, map_list_u8_t *ret, map_string_t *err) {
  (void)err;
  const map_list_u8_t *value = &input->value;
  if (value->len == 1 && value->ptr[0] == '1') {
    printf("printing needs WASI\n");
    fflush(stdout);
  } else if (value->len == 1 && value->ptr[0] == '2') {
    abort();
  }
  // Hand the input's value back: the bindings free it after the host has copied it.
  *ret = input->value;
  map_option_list_u8_free(&input->key);
  return true;
}
