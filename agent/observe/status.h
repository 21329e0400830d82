/* `steer status`: services, replicas and counters read from the pinned maps,
 * so it works while no agent runs. */
#ifndef STEER_STATUS_H
#define STEER_STATUS_H

#include <stdbool.h>
#include <stdio.h>

/* Returns 0, or -1 with err set (e.g. nothing pinned under pin_dir). */
int status_print(const char *pin_dir, bool json, FILE *out, char *err, size_t errlen);

#endif
