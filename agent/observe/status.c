/* `steer status` (see status.h): collect a snapshot, then render it. */
#include "observe/status.h"

#include <stdlib.h>
#include <string.h>

#include "observe/status_collect.h"
#include "observe/status_render.h"

int status_print(const char *pin_dir, bool json, FILE *out, char *err, size_t errlen)
{
	struct status_snapshot s;
	int ret = 0;

	if (status_collect(pin_dir, &s, err, errlen))
		return -1;
	if (json)
		ret = status_render_json(&s, out);
	else
		status_render_text(&s, out);
	status_snapshot_free(&s);
	if (ret) {
		snprintf(err, errlen, "cannot build the JSON status: %s", strerror(-ret));
		return -1;
	}
	return 0;
}
