#include "net/sock_diag.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

struct sock_diag {
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
};

struct sock_diag *sock_diag_open(void)
{
	struct sock_diag *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!d->nl || mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		if (d->nl)
			mnl_socket_close(d->nl);
		free(d);
		errno = err;
		return NULL;
	}
	d->portid = mnl_socket_get_portid(d->nl);
	return d;
}

void sock_diag_close(struct sock_diag *d)
{
	if (!d)
		return;
	mnl_socket_close(d->nl);
	free(d);
}

/* An address and port of ss into a diag socket id's fields. */
static void id_put(const struct sockaddr_storage *ss, __be16 *port, __be32 addr[4])
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		*port = sin->sin_port;
		addr[0] = sin->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		*port = sin6->sin6_port;
		memcpy(addr, &sin6->sin6_addr, 16);
	}
}

static int on_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	*(uint64_t *)data = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
	return MNL_CB_STOP;
}

int sock_diag_cookie(struct sock_diag *d, const struct sockaddr_storage *local,
		     const struct sockaddr_storage *remote, uint64_t *cookie)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	unsigned int seq;
	uint64_t found = 0;
	ssize_t n;
	int ret;

	if (local->ss_family != remote->ss_family ||
	    (local->ss_family != AF_INET && local->ss_family != AF_INET6))
		return -EAFNOSUPPORT;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST; /* no NLM_F_DUMP: the one socket of the 4-tuple */
	nlh->nlmsg_seq = seq = ++d->seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (__u8)local->ss_family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0u;
	id_put(local, &req->id.idiag_sport, req->id.idiag_src);
	id_put(remote, &req->id.idiag_dport, req->id.idiag_dst);
	req->id.idiag_cookie[0] = req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* The kernel answers within sendmsg(): the reply is there already. */
	for (;;) {
		n = mnl_socket_recvfrom(d->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, d->portid, on_reply, &found);
		if (ret < 0)
			return errno ? -errno : -EIO; /* an error message: ENOENT for none */
		if (ret == MNL_CB_STOP || found)
			break;
	}
	if (!found)
		return -ENOENT;
	*cookie = found;
	return 0;
}
