/* One runner for every unit suite; CK_FORK isolates each test. */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr = srunner_create(size_suite());
	int failed;

	srunner_add_suite(sr, valid_suite());
	srunner_add_suite(sr, path_suite());
	srunner_add_suite(sr, spec_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, gpu_suite());
	srunner_add_suite(sr, quota_suite());
	srunner_add_suite(sr, jtext_suite());
	srunner_add_suite(sr, xmalloc_suite());
	srunner_add_suite(sr, idle_suite());
	srunner_add_suite(sr, ident_suite());
	srunner_add_suite(sr, http_text_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, logs_suite());
	srunner_add_suite(sr, sshconf_suite());
	srunner_add_suite(sr, queue_suite());
	srunner_add_suite(sr, notice_suite());
	srunner_add_suite(sr, web_suite());
	srunner_add_suite(sr, nodes_suite());
	srunner_add_suite(sr, boot_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
