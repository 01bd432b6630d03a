/* Misbehaving reward plug-ins for the tests; the behaviour is chosen at build
 * time with -DBEHAVIOUR=... */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "reward/plugin_abi.h"

#define GOOD 0
#define CRASH 1
#define HANG 2
#define NAN_REWARD 3
#define INF_REWARD 4
#define REPORT_ERROR 5
#define EXIT_EARLY 6
#define ABORT 7
#define RECORD 8

#if BEHAVIOUR == RECORD
#include <fcntl.h>
#include <stdlib.h>

/* Appends `text` to `out` as a JSON string (quotes, backslashes and control
 * characters escaped; other bytes as they are). */
static size_t json_string(char* out, const char* text) {
  size_t n = 0;
  out[n++] = '"';
  for (const unsigned char* p = (const unsigned char*)text; *p; ++p) {
    if (*p == '"' || *p == '\\') {
      out[n++] = '\\';
      out[n++] = (char)*p;
    } else if (*p < 0x20) {
      n += (size_t)sprintf(out + n, "\\u%04x", *p);
    } else {
      out[n++] = (char)*p;
    }
  }
  out[n++] = '"';
  return n;
}
#endif

#if BEHAVIOUR == GOOD
static int counter = 0; /* must not persist across calls: each runs in a fresh child */
#endif

double crescent_reward(const char* prompt, const char* response, const char* metadata_json,
                       char* err, size_t errlen) {
#if BEHAVIOUR == GOOD
  (void)prompt;
  ++counter;
  /* Echo enough to check the arguments arrived: reward = strlen(response) +
   * 100 if the metadata JSON mentions "answer" + 1000 * (calls seen). */
  return (double)strlen(response) + (strstr(metadata_json, "\"answer\":\"19\"") ? 100.0 : 0.0) +
         1000.0 * counter;
#elif BEHAVIOUR == CRASH
  volatile int* p = (int*)0;
  *p = 42;
  return 1;
#elif BEHAVIOUR == HANG
  for (;;) pause();
  return 1;
#elif BEHAVIOUR == NAN_REWARD
  return NAN;
#elif BEHAVIOUR == INF_REWARD
  return INFINITY;
#elif BEHAVIOUR == REPORT_ERROR
  snprintf(err, errlen, "tests missing for %s", prompt);
  return 7;
#elif BEHAVIOUR == EXIT_EARLY
  _exit(3);
#elif BEHAVIOUR == ABORT
  raise(SIGABRT);
  return 1;
#elif BEHAVIOUR == RECORD
  /* Appends {"prompt": ..., "response": ...} as one line to the file that
   * the prompt's metadata names under "record_to"; reward 0. */
  const char* key = strstr(metadata_json, "\"record_to\":\"");
  if (!key) {
    snprintf(err, errlen, "no record_to in the metadata");
    return 0;
  }
  char path[4096];
  const char* start = key + strlen("\"record_to\":\"");
  const char* end = strchr(start, '"');
  if (!end || (size_t)(end - start) >= sizeof path) {
    snprintf(err, errlen, "bad record_to");
    return 0;
  }
  memcpy(path, start, (size_t)(end - start));
  path[end - start] = 0;
  char* line = malloc(6 * (strlen(prompt) + strlen(response)) + 64);
  size_t n = 0;
  n += (size_t)sprintf(line + n, "{\"prompt\":");
  n += json_string(line + n, prompt);
  n += (size_t)sprintf(line + n, ",\"response\":");
  n += json_string(line + n, response);
  n += (size_t)sprintf(line + n, "}\n");
  /* One write of the whole line, appended: lines from concurrent calls do not interleave. */
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || write(fd, line, n) != (ssize_t)n) snprintf(err, errlen, "cannot write %s", path);
  if (fd >= 0) close(fd);
  free(line);
  return 0;
#endif
}
