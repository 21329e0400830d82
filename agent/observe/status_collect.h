/* Reading the pinned maps into a status snapshot (see status_view.h). */
#ifndef STEER_STATUS_COLLECT_H
#define STEER_STATUS_COLLECT_H

#include <stddef.h>

#include "observe/status_view.h"

/* Every service pinned under pin_dir, sorted by name, into s; s->services is
 * calloc'd, free it. Returns 0, or -1 with err set (nothing pinned, no
 * memory) and nothing to free. */
int status_collect(const char *pin_dir, struct status_snapshot *s, char *err, size_t errlen);

#endif
