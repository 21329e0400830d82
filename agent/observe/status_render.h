/* `steer status` output from a snapshot: text for people, JSON for scripts.
 * No map access, no I/O but writing to out. */
#ifndef STEER_STATUS_RENDER_H
#define STEER_STATUS_RENDER_H

#include <stdio.h>

#include "observe/status_view.h"

/* One "service" line per service, its "hold" line (TCP) and one "replica"
 * line per replica; "no services" when there is none. */
void status_render_text(const struct status_snapshot *s, FILE *out);

/* {"services":[...]} on one line, then a newline. Returns 0, or -ENOMEM
 * with nothing written. */
int status_render_json(const struct status_snapshot *s, FILE *out);

#endif
