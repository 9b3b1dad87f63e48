#ifndef WSLAB_UNIT_H
#define WSLAB_UNIT_H

#include <check.h>

Suite *size_suite(void);
Suite *valid_suite(void);
Suite *path_suite(void);
Suite *spec_suite(void);
Suite *config_suite(void);
Suite *gpu_suite(void);
Suite *quota_suite(void);
Suite *jtext_suite(void);
Suite *xmalloc_suite(void);
Suite *ident_suite(void);
Suite *http_text_suite(void);
Suite *idle_suite(void);
Suite *metrics_suite(void);
Suite *logs_suite(void);
Suite *sshconf_suite(void);
Suite *queue_suite(void);
Suite *notice_suite(void);
Suite *web_suite(void);
Suite *nodes_suite(void);
Suite *boot_suite(void);

#endif
