/* Reading the pinned maps into a metrics snapshot; private to the
 * metrics server (metrics_http.c), which scrapes with it. */
#ifndef STEER_METRICS_COLLECT_H
#define STEER_METRICS_COLLECT_H

#include "observe/metrics.h"

/* Every service pinned under pin_dir, sorted by name, into s. s->services
 * is calloc'd, free it, also when this fails: returns 0, -ENOMEM, -EFBIG
 * past METRICS_MAX_SERVICES services, or the negative errno of opening the
 * pinned maps. */
int metrics_collect(const char *pin_dir, struct metrics_snapshot *s);

#endif
