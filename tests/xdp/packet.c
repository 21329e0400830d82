/* The packet builder of the XDP fixtures: see packet.h. Headers are written
 * byte by byte from their RFC layouts, not through the kernel's structs the
 * datapath uses, so a layout mistake on one side shows up as a diff. */
#include "packet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_LEN	  14
#define VLAN_LEN  4
#define ARP_LEN	  28
#define IP4_LEN	  20
#define IP6_LEN	  40
#define EXT_LEN	  8 /* the one IPv6 extension header a spec may carry */
#define TCP_LEN	  20
#define UDP_LEN	  8
#define ICMP_LEN  8
#define ETH_IP4	  0x0800
#define ETH_IP6	  0x86dd
#define ETH_ARP	  0x0806
#define ETH_VLAN  0x8100
#define PROTO_IP6 41 /* IPv6 in IPv6 */

static void die(const char *what, const char *value)
{
	fprintf(stderr, "packet builder: bad %s: '%s'\n", what, value ? value : "(null)");
	abort();
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

void pkt_parse_mac(const char *text, uint8_t mac[6], const char *what)
{
	unsigned int b[6];
	char end;

	if (!text) {
		memset(mac, 0, 6);
		return;
	}
	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		die(what, text);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
}

int pkt_parse_addr(int family, const char *text, uint8_t addr[16], const char *what)
{
	memset(addr, 0, 16);
	if (!text || inet_pton(family == 6 ? AF_INET6 : AF_INET, text, addr) != 1)
		die(what, text);
	return family == 6 ? 16 : 4;
}

/* Sum of 16-bit big-endian words, not yet folded. */
static uint32_t sum_words(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t sum)
{
	return (uint16_t)~fold(sum_words(data, len, sum));
}

/* The pseudo-header of RFC 793 / RFC 8200 section 8.1. */
static uint32_t pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			   size_t l4_len)
{
	size_t alen = family == 6 ? 16 : 4;
	uint32_t sum = sum_words(src, alen, 0);

	sum = sum_words(dst, alen, sum);
	return sum + proto + (uint32_t)(l4_len & 0xffff) + (uint32_t)(l4_len >> 16);
}

static void fill_payload(const struct pkt_spec *s, uint8_t *p)
{
	for (size_t i = 0; i < s->payload_len; i++)
		p[i] = (uint8_t)(i * 31 + 7);
	if (s->set_tail && s->payload_len >= 2)
		put16(p + s->payload_len - 2, s->tail);
}

/* The L4 header and payload at p; returns their length. */
static size_t build_l4(const struct pkt_spec *s, uint8_t *p, const uint8_t *src, const uint8_t *dst)
{
	size_t len;
	uint16_t c;

	switch (s->proto) {
	case IPPROTO_TCP:
		len = TCP_LEN + s->payload_len;
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put32(p + 4, 0x01020304);				/* seq */
		put32(p + 8, s->tcp_flags & PKT_ACK ? 0x0a0b0c0du : 0); /* ack */
		p[12] = (uint8_t)((s->tcp_doff ? s->tcp_doff : 5) << 4);
		p[13] = s->tcp_flags;
		put16(p + 14, 0xffff); /* window */
		fill_payload(s, p + TCP_LEN);
		c = pkt_csum(p, len, pseudo_sum(s->family, src, dst, IPPROTO_TCP, len));
		put16(p + 16, c);
		return len;
	case IPPROTO_UDP:
		len = UDP_LEN + s->payload_len;
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (uint16_t)len);
		fill_payload(s, p + UDP_LEN);
		if (s->udp_nocsum)
			return len;
		c = pkt_csum(p, len, pseudo_sum(s->family, src, dst, IPPROTO_UDP, len));
		put16(p + 6, c ? c : 0xffff); /* RFC 768: a computed 0 is sent as all ones */
		return len;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		len = ICMP_LEN + s->payload_len;
		p[0] = s->proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		put16(p + 4, 0x1234);			   /* identifier */
		put16(p + 6, 1);			   /* sequence */
		fill_payload(s, p + ICMP_LEN);
		c = pkt_csum(
		    p, len,
		    s->proto == IPPROTO_ICMP ? 0 : pseudo_sum(6, src, dst, IPPROTO_ICMPV6, len));
		put16(p + 2, c);
		return len;
	default: {
		char v[8];

		snprintf(v, sizeof(v), "%u", s->proto);
		die("proto", v);
		return 0;
	}
	}
}

static size_t build_arp(const struct pkt_spec *s, uint8_t *p)
{
	uint8_t spa[16], tpa[16];

	pkt_parse_addr(4, s->src, spa, "src");
	pkt_parse_addr(4, s->dst, tpa, "dst");
	put16(p, 1);	      /* Ethernet */
	put16(p + 2, 0x0800); /* IPv4 */
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, 1); /* request */
	pkt_parse_mac(s->smac, p + 8, "smac");
	memcpy(p + 14, spa, 4);
	memset(p + 18, 0, 6);
	memcpy(p + 24, tpa, 4);
	return ARP_LEN;
}

static size_t build_ip4(const struct pkt_spec *s, uint8_t *p, const uint8_t *src,
			const uint8_t *dst, size_t l4_len)
{
	size_t hlen = IP4_LEN + s->ip_opts_len;
	uint8_t ihl = s->ihl ? s->ihl : (uint8_t)(hlen / 4);

	if (s->ip_opts_len % 4 || s->ip_opts_len > 40)
		die("ip_opts_len", "not a multiple of 4 up to 40");
	p[0] = (uint8_t)((s->version ? s->version : 4) << 4 | (ihl & 0xf));
	p[1] = s->tos;
	put16(p + 2, (uint16_t)((int)(hlen + l4_len) + s->len_delta));
	put16(p + 4, s->ip_id);
	put16(p + 6, s->frag_off);
	p[8] = s->ttl ? s->ttl : 64;
	p[9] = s->proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	memcpy(p + IP4_LEN, s->ip_opts, s->ip_opts_len);
	put16(p + 10, pkt_csum(p, hlen, 0));
	return hlen;
}

static void put_ip6(uint8_t *p, uint8_t version, uint8_t tclass, uint32_t label, size_t plen,
		    uint8_t nexthdr, uint8_t hops, const uint8_t *src, const uint8_t *dst)
{
	put32(p, (uint32_t)version << 28 | (uint32_t)tclass << 20 | (label & 0xfffff));
	put16(p + 4, (uint16_t)plen);
	p[6] = nexthdr;
	p[7] = hops;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
}

static size_t build_ip6(const struct pkt_spec *s, uint8_t *p, const uint8_t *src,
			const uint8_t *dst, size_t l4_len)
{
	size_t ext = s->ext ? EXT_LEN : 0;

	uint8_t nexthdr = s->ext == PKT_EXT_HOPOPTS    ? IPPROTO_HOPOPTS
			  : s->ext == PKT_EXT_FRAGMENT ? IPPROTO_FRAGMENT
						       : s->proto;

	put_ip6(p, s->version ? s->version : 6, s->tos, s->flow_label,
		(size_t)((int)(ext + l4_len) + s->len_delta), nexthdr, s->ttl ? s->ttl : 64, src,
		dst);
	if (s->ext == PKT_EXT_HOPOPTS) {
		uint8_t *h = p + IP6_LEN;

		h[0] = s->proto;
		h[1] = 0; /* 8 bytes */
		h[2] = 1; /* PadN */
		h[3] = 4;
		memset(h + 4, 0, 4);
	} else if (s->ext == PKT_EXT_FRAGMENT) {
		uint8_t *h = p + IP6_LEN;

		h[0] = s->proto;
		h[1] = 0;
		put16(h + 2, 1); /* offset 0, more fragments */
		put32(h + 4, 0x12345678);
	} else if (s->ext != PKT_EXT_NONE) {
		die("ext", "not a enum pkt_ext");
	}
	return IP6_LEN + ext;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *out, struct pkt_info *info)
{
	uint8_t src[16], dst[16];
	size_t n = 12, l3, l3h, l4, l4_len;
	uint16_t type = s->arp ? ETH_ARP : s->family == 6 ? ETH_IP6 : ETH_IP4;

	if (!s->arp && s->family != 4 && s->family != 6)
		die("family", "not 4 or 6");
	if (s->payload_len > PKT_MAX - 128)
		die("payload_len", "past PKT_MAX");
	memset(out, 0, PKT_MAX);
	pkt_parse_mac(s->dmac, out, "dmac");
	pkt_parse_mac(s->smac, out + 6, "smac");
	if (s->vlan) {
		put16(out + n, ETH_VLAN);
		put16(out + n + 2, s->vlan & 0xfff);
		n += VLAN_LEN;
	}
	put16(out + n, type);
	l3 = n + 2;
	if (s->arp) {
		n = l3 + build_arp(s, out + l3);
		l4 = n;
		l4_len = 0;
		l3h = ARP_LEN;
	} else {
		pkt_parse_addr(s->family, s->src, src, "src");
		pkt_parse_addr(s->family, s->dst, dst, "dst");
		l3h = s->family == 6 ? IP6_LEN + (s->ext ? EXT_LEN : 0) : IP4_LEN + s->ip_opts_len;
		l4 = l3 + l3h;
		l4_len = build_l4(s, out + l4, src, dst);
		if (s->family == 4)
			build_ip4(s, out + l3, src, dst, l4_len);
		else
			build_ip6(s, out + l3, src, dst, l4_len);
		n = l4 + l4_len;
	}
	if (s->pad_to > n)
		n = s->pad_to;
	if (s->truncate && s->truncate < n)
		n = s->truncate;
	if (info) {
		info->len = n;
		info->l3 = l3;
		info->l3_len = (size_t)((int)(l3h + l4_len) + s->len_delta);
		info->l4 = l4;
	}
	return n;
}

size_t pkt_encap(const struct pkt_outer *o, const uint8_t *frame, size_t len, size_t inner_l3_len,
		 uint8_t *out)
{
	uint8_t src[16], dst[16];
	size_t hlen = o->family == 6 ? IP6_LEN : IP4_LEN;
	uint8_t *ip = out + ETH_LEN;

	if (len < ETH_LEN || len - ETH_LEN + ETH_LEN + hlen > PKT_MAX)
		die("encap", "inner frame too short or too long");
	memset(out, 0, PKT_MAX);
	pkt_parse_mac(o->dmac, out, "outer dmac");
	pkt_parse_mac(o->smac, out + 6, "outer smac");
	put16(out + 12, o->family == 6 ? ETH_IP6 : ETH_IP4);
	pkt_parse_addr(o->family, o->src, src, "outer src");
	pkt_parse_addr(o->family, o->dst, dst, "outer dst");
	if (o->family == 6) {
		put_ip6(ip, 6, o->tos, o->flow_label, inner_l3_len, PROTO_IP6, o->ttl, src, dst);
	} else {
		ip[0] = 0x45;
		ip[1] = o->tos;
		put16(ip + 2, (uint16_t)(inner_l3_len + IP4_LEN));
		ip[8] = o->ttl;
		ip[9] = IPPROTO_IPIP;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, pkt_csum(ip, IP4_LEN, 0));
	}
	memcpy(ip + hlen, frame + ETH_LEN, len - ETH_LEN);
	return ETH_LEN + hlen + len - ETH_LEN;
}

uint16_t pkt_tail_for_zero_udp_csum(const struct pkt_spec *spec)
{
	struct pkt_spec s = *spec;
	uint8_t frame[PKT_MAX], src[16], dst[16];
	struct pkt_info info;
	size_t l4_len = UDP_LEN + s.payload_len;
	uint16_t sum;

	if (s.proto != IPPROTO_UDP || s.payload_len < 2 || s.payload_len % 2)
		die("zero-checksum spec", "needs UDP with an even payload of 2 bytes or more");
	s.set_tail = true;
	s.tail = 0;
	s.udp_nocsum = true;
	pkt_build(&s, frame, &info);
	pkt_parse_addr(s.family, s.src, src, "src");
	pkt_parse_addr(s.family, s.dst, dst, "dst");
	sum = fold(sum_words(frame + info.l4, l4_len,
			     pseudo_sum(s.family, src, dst, IPPROTO_UDP, l4_len)));
	/* The tail adds itself to the sum: make the sum 0xffff, whose
	 * complement is 0. */
	return (uint16_t)(0xffff - sum);
}
