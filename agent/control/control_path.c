#include "control/control_path.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "lib/log.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* mkdir -p of path's directory; only directories created here get 0700. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
	char dir[SUN_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) == 0) {
			if (chmod(dir, 0700) < 0) { /* the umask may have taken bits */
				snprintf(err, errlen, "control socket directory %s: chmod 0700: %s",
					 dir, strerror(errno));
				return -1;
			}
			log_info("control: created directory %s (mode 0700)", dir);
		} else if (errno != EEXIST) {
			snprintf(err, errlen, "control socket directory %s: cannot create: %s", dir,
				 strerror(errno));
			return -1;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/* Make way for bind(): nothing there, or a socket file nobody listens on
 * (removed). A live socket or any other file is left alone and refused. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *sun, char *err,
			      size_t errlen)
{
	struct stat st;
	int fd, rc, saved;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "control socket %s: exists and is not a socket (accepted: a socket file "
			 "or nothing; remove it or choose another path)",
			 path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket %s: socket: %s", path, strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	close(fd);
	if (rc == 0 || saved == EAGAIN) { /* EAGAIN: listening, backlog full */
		snprintf(err, errlen, "another agent is listening on %s", path);
		return -1;
	}
	if (saved != ECONNREFUSED) {
		snprintf(err, errlen, "control socket %s: cannot check the existing socket: %s",
			 path, strerror(saved));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "control socket %s: cannot remove the stale socket: %s", path,
			 strerror(errno));
		return -1;
	}
	log_info("control: removed stale socket %s", path);
	return 0;
}

int control_path_prepare(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	if (make_parent_dirs(path, err, errlen) < 0)
		return -1;
	return clear_stale_socket(path, sun, err, errlen);
}
