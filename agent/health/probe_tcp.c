/* TCP check: the replica is up when a connect completes. The socket is
 * then closed with a reset (probe_close()); nothing is sent. */
#include "health/probe_impl.h"
#include "bpf/steer_abi.h"

static int tcp_start(struct probe *p)
{
	return probe_connect(p);
}

static void tcp_on_io(struct probe *p, int revents)
{
	(void)revents;
	if (probe_connected(p))
		probe_decide(p, STEER_CHECK_OK, "connected");
}

const struct probe_ops probe_tcp_ops = {
    .name = "tcp",
    .start = tcp_start,
    .on_io = tcp_on_io,
    .free = NULL,
};
