/* The control socket's place in the file system, made ready for bind(). */
#ifndef STEER_CONTROL_PATH_H
#define STEER_CONTROL_PATH_H

#include <stddef.h>
#include <sys/un.h>

/* Create path's missing parent directories (0700) and remove a stale socket
 * nobody listens on; refuse a live socket or any other file there. Returns
 * 0, or -1 with err naming the path and what is wrong. */
int control_path_prepare(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen);

#endif
