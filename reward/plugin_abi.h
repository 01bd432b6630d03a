/* The C ABI of a crescent reward plug-in: a shared library exporting
 *
 *   double crescent_reward(const char* prompt, const char* response,
 *                          const char* metadata_json, char* err, size_t errlen);
 *
 * prompt and response are UTF-8, NUL-terminated; metadata_json is a JSON
 * object of strings (the prompt's metadata: "answer", "tests", ...). Return
 * the reward, a finite number. To report a failure, write a NUL-terminated
 * message of at most errlen bytes into err (it starts empty): the sample then
 * gets the entry's fallback (else reward.failure_reward) and the message is
 * logged.
 *
 * Optionally also export
 *
 *   int crescent_reward_correct(const char* prompt, const char* response,
 *                               const char* metadata_json);
 *
 * returning nonzero when the response counts as correct (for accuracy metrics
 * and the length penalty); without it a response is correct when its reward
 * is > 0.
 *
 * Each call runs in a forked child process with a time limit: a crash, a hang,
 * NaN or infinity costs that sample only. Calls share no state with each
 * other (each child starts from the state after dlopen).
 */
#ifndef CRESCENT_REWARD_PLUGIN_ABI_H_
#define CRESCENT_REWARD_PLUGIN_ABI_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a plug-in defines (declared here so that the compiler checks it). */
double crescent_reward(const char* prompt, const char* response, const char* metadata_json,
                       char* err, size_t errlen);
int crescent_reward_correct(const char* prompt, const char* response, const char* metadata_json);

typedef double (*crescent_reward_fn)(const char* prompt, const char* response,
                                     const char* metadata_json, char* err, size_t errlen);
typedef int (*crescent_reward_correct_fn)(const char* prompt, const char* response,
                                          const char* metadata_json);

#ifdef __cplusplus
}
#endif

#endif /* CRESCENT_REWARD_PLUGIN_ABI_H_ */
