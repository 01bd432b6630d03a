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
#endif
}
