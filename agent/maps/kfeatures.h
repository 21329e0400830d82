/* What the kernel must offer steer's datapath, checked by name, so a load
 * failure says "the kernel lacks X" instead of a bare errno. */
#ifndef STEER_KFEATURES_H
#define STEER_KFEATURES_H

#include <stddef.h>

/* Probe every feature; write the missing ones, comma-separated, into buf
 * ("" if none). Returns how many are missing. */
int kfeatures_missing(char *buf, size_t len);

#endif
