/* An example reward plug-in (see reward/plugin_abi.h and docs/rewards.md):
 *   +0.2 when the response is only digits (an optional leading '-'),
 *   +1.0 more when it equals metadata "answer" exactly,
 *   -0.01 per character beyond 8.
 * Build: cc -shared -fPIC -O2 -o liblength_format_reward.so length_format_reward.c
 * Use:   reward.functions: ["/path/to/liblength_format_reward.so"]
 */
#include <stdio.h>
#include <string.h>

#include "reward/plugin_abi.h"

/* Finds "answer":"..." in the metadata JSON (values are strings). Writes at
 * most size-1 bytes; returns 0 when absent. A real plug-in would use a JSON
 * parser. */
static int find_answer(const char* json, char* out, size_t size) {
  const char* key = strstr(json, "\"answer\":\"");
  size_t n = 0;
  if (!key) return 0;
  key += strlen("\"answer\":\"");
  while (key[n] && key[n] != '"' && n + 1 < size) {
    out[n] = key[n];
    ++n;
  }
  out[n] = '\0';
  return 1;
}

static int all_digits(const char* s) {
  if (*s == '-') ++s;
  if (!*s) return 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return 0;
  }
  return 1;
}

double crescent_reward(const char* prompt, const char* response, const char* metadata_json,
                       char* err, size_t errlen) {
  char answer[256];
  double reward = 0;
  size_t length = strlen(response);
  (void)prompt;
  if (!find_answer(metadata_json, answer, sizeof(answer))) {
    snprintf(err, errlen, "metadata has no \"answer\"");
    return 0;
  }
  if (all_digits(response)) reward += 0.2;
  if (strcmp(response, answer) == 0) reward += 1.0;
  if (length > 8) reward -= 0.01 * (double)(length - 8);
  return reward;
}

int crescent_reward_correct(const char* prompt, const char* response, const char* metadata_json) {
  char answer[256];
  (void)prompt;
  return find_answer(metadata_json, answer, sizeof(answer)) && strcmp(response, answer) == 0;
}
