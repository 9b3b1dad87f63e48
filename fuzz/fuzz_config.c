/* The config parser: any text either loads or gives "file line N: what". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct config cfg;
	char *text = malloc(len + 1), err[512];

	memcpy(text, data, len);
	text[len] = '\0';
	config_defaults(&cfg);
	if (config_parse_buffer(&cfg, "fuzz.conf", text, err, sizeof(err)) == 0) {
		if (cfg.ntemplates == 0 || config_template(&cfg, cfg.default_template) == NULL)
			abort();
	} else if (strncmp(err, "fuzz.conf", 9) != 0) {
		abort();
	}
	config_free(&cfg);
	free(text);
	return 0;
}
