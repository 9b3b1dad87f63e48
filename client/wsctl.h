/*
 * wsctl: the command-line client of wsd. One file per command; each is an
 * entry of cmd_table in wsctl.c (name, usage, help, exec).
 */
#ifndef WSCTL_H
#define WSCTL_H

#include <stddef.h>

#include <jansson.h>

#define WSCTL_DEFAULT_SOCKET "/run/wslab/wsd.sock"

/* Exit statuses. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* wsd refused or the operation failed */
#define EXIT_USAGE 2 /* bad command line */
#define EXIT_CONN 3  /* wsd not reachable */

struct cmd {
	const char *name;
	const char *usage;
	const char *help;
	int (*exec)(int argc, char **argv);
};

extern const char *wsctl_socket;

/* Called for each complete line of a streamed reply; return 0 to go on. */
typedef int line_cb(const char *line, size_t len, void *arg);

/*
 * One request to wsd. status gets the HTTP status (0 when wsd was not
 * reached, then an error was printed). The reply body, parsed, goes to
 * *reply (caller frees) unless lines is given, which then gets each line.
 */
int client_call(const char *method, const char *path, json_t *body, json_t **reply, line_cb *lines,
                void *arg, long *status);
/*
 * GET path. EXIT_OK with the parsed body in *reply (caller frees), or the
 * exit status after the error was printed.
 */
int client_get(const char *path, json_t **reply);
/* Print reply as indented JSON, free it; EXIT_OK. */
int client_print_json(json_t *reply);
/* Print "wsctl: MESSAGE" from an error reply; return EXIT_FAIL. */
int client_error(json_t *reply, long status);
/* "/v1/workspaces/" + escaped name. */
void client_ws_path(const char *name, char *buf, size_t len);

/* Public keys of the user (every ~/.ssh/NAME.pub), or one made when none. */
json_t *keys_collect(void);
/* The user's home, from the password database. */
const char *keys_home(void);

/* Pin the workspace's host key in the user's known_hosts file for wslab;
 * writes its path to path. Returns 0 or -1. */
int ssh_pin(json_t *ws, char *path, size_t len);

int cmd_start_exec(int argc, char **argv);
int cmd_ls_exec(int argc, char **argv);
int cmd_show_exec(int argc, char **argv);
int cmd_stop_exec(int argc, char **argv);
int cmd_ssh_exec(int argc, char **argv);

/* Shared printing. */
void print_age(long long seconds, char *buf, size_t len);
long long parse_time(const char *iso);
/* A workspace's age and time left ("never" without a lifetime), each into len bytes. */
void ws_times(json_t *ws, char *age, char *left, size_t len);
void print_ssh_command(json_t *ws);
void print_gpus(json_t *ws);
/* "0,3" or "-" */
void gpu_list(json_t *ws, char *buf, size_t len);
int cmd_gpus_exec(int argc, char **argv);
int cmd_quota_exec(int argc, char **argv);
int cmd_admin_exec(int argc, char **argv);

#endif
