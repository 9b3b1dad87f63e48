/* Start-request validation: any body is accepted within limits or refused with a 4xx. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "path.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static struct config cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int ready;
	struct start_req req;
	struct api_error err;

	if (!ready) {
		config_defaults(&cfg);
		config_parse_buffer(&cfg, "f",
		                    "mount_roots = /data/users, /scratch\n"
		                    "shared_mount_roots = /datasets\nmount_points = /data, /mnt\n"
		                    "[template offline]\nimage = a:1\n[template b]\nimage = b:1\n",
		                    NULL, 0);
		ready = 1;
	}
	if (valid_start_request(&cfg, 4, (const char *)data, len, &req, &err) == 0) {
		if (req.memory < (64 << 20) || req.memory > req.tmpl->memory_max ||
		    req.shm > req.memory || req.cpus <= 0 || req.cpus > 4 || req.nkeys == 0 ||
		    !(req.name[0] == '\0' || valid_ws_name(req.name)) || req.gpu.count < 0 ||
		    (req.gpu.nids > 0 && (size_t)req.gpu.count != req.gpu.nids))
			abort();
		/* An accepted mount is clean, in a root, and lands in a home or mount point. */
		for (size_t i = 0; i < req.nmounts; i++) {
			const struct mount_req *m = &req.mounts[i];
			char why[WS_PATH_MAX + 128], buf[WS_PATH_MAX + 1];

			if (path_check(m->source, strlen(m->source), why, sizeof(why)) == -1 ||
			    valid_mount_target(cfg.mount_points, m->target, NULL, why,
			                       sizeof(why)) == -1 ||
			    (path_list_find(cfg.mount_roots, m->source, buf, sizeof(buf)) == NULL &&
			     (!m->read_only || path_list_find(cfg.shared_mount_roots, m->source,
			                                      buf, sizeof(buf)) == NULL)))
				abort();
		}
		start_req_free(&req);
	} else if (err.status < 400 || err.status > 499 || err.message[0] == '\0') {
		abort();
	}
	return 0;
}
