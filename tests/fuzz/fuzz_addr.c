/* libFuzzer target: ADDR:PORT endpoints (endpoint_parse()).
 *
 * Any text must parse or be refused without harm. An endpoint that parses
 * must survive a round trip: endpoint_format() gives text that parses again
 * to an equal endpoint and formats to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "bpf/steer_abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), buf[ADDR_STRLEN], again_buf[ADDR_STRLEN], err[512];
	struct endpoint ep, again;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (endpoint_parse(text, &ep, err, sizeof(err)) == 0) {
		if ((ep.family != STEER_FAMILY_V4 && ep.family != STEER_FAMILY_V6) || ep.port == 0)
			__builtin_trap();
		endpoint_format(&ep, buf, sizeof(buf));
		if (endpoint_parse(buf, &again, err, sizeof(err)) < 0 ||
		    !endpoint_equal(&ep, &again))
			__builtin_trap();
		if (strcmp(endpoint_format(&again, again_buf, sizeof(again_buf)), buf) != 0)
			__builtin_trap();
	} else if (strnlen(err, sizeof(err)) == 0) {
		__builtin_trap(); /* a refusal always says why */
	}
	free(text);
	return 0;
}
