/*
 * One line per event on stderr (the journal under systemd). Secrets never
 * reach these functions: callers log workspace ids, never tokens.
 */
#ifndef WSD_LOG_H
#define WSD_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level;

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_level_parse(const char *s, enum log_level *out);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_level >= LOG_DEBUG)                                                        \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
	} while (0)

#endif
