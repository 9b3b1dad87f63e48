/*
 * HTML for the web page, written into a growing buffer. Every string that
 * comes from a user, a workspace, a template or the engine goes through
 * html_esc; html_lit is for wsd's own markup only. Charts are inline SVG
 * drawn here: no library, no script, nothing fetched.
 */
#ifndef WSD_HTML_H
#define WSD_HTML_H

#include <stddef.h>

struct html {
	char *p;
	size_t len, cap;
};

void html_lit(struct html *h, const char *s);
/* s with & < > " ' written as entities (safe in text and quoted attributes). */
void html_esc(struct html *h, const char *s);
/* wsd's own formats (numbers): never a user's string. */
void html_printf(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Take the text (NUL-terminated) out of h; h is empty after. */
char *html_take(struct html *h, size_t *len);
void html_free(struct html *h);

/*
 * A bar chart as inline SVG: one bar per value, labelled below (every
 * label_every-th label), the largest value on the axis, each bar's label
 * and value as its tooltip. title and labels are escaped.
 */
void html_bar_chart(struct html *h, const char *title, const char *const *labels,
                    const double *values, size_t n, const char *unit, size_t label_every);

#endif
