#include "lib/bpf_links.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

int links_unpin(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd); /* EINVAL: a link that cannot detach goes with its pin */
		close(fd);
	}
	return unlink(path) == 0 ? 1 : 0;
}

int links_pin_new(int fd, const char *path, char *err, size_t errlen)
{
	if (bpf_obj_pin(fd, path)) {
		snprintf(err, errlen, "cannot pin link %s: %s", path, strerror(errno));
		bpf_link_detach(fd);
		close(fd);
		return -1;
	}
	close(fd); /* the pin keeps it attached */
	return 0;
}

int links_xdp_create(int prog_fd, unsigned int ifindex, uint32_t flags, const char *what,
		     const char *ifname, const char *mode, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &opts);

	if (fd < 0)
		snprintf(err, errlen, "cannot attach %s to %s%s%s: %s%s", what, ifname,
			 mode ? " in mode " : "", mode ? mode : "", strerror(errno),
			 errno == EBUSY || errno == EEXIST
			     ? " (another XDP program is attached there: `bpftool net` shows it; "
			       "steer does not replace it)"
			     : "");
	return fd;
}
