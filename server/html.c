/*
 * The web page's markup buffer and its one chart. Escaping is by
 * character, not by context: the page puts user strings only in element
 * text and in double-quoted attribute values, where the five entities
 * below are enough; never in a script, a style, a URL scheme or an
 * unquoted attribute.
 */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static void
html_add(struct html *h, const char *s, size_t n)
{
	if (h->len + n + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 4096;

		while (h->len + n + 1 > cap)
			cap *= 2;
		h->p = xrealloc(h->p, cap);
		h->cap = cap;
	}
	memcpy(h->p + h->len, s, n);
	h->len += n;
	h->p[h->len] = '\0';
}

void
html_lit(struct html *h, const char *s)
{
	html_add(h, s, strlen(s));
}

void
html_esc(struct html *h, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *ent;

		switch (*s) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&#39;";
			break;
		default:
			continue;
		}
		html_add(h, run, (size_t)(s - run));
		html_lit(h, ent);
		run = s + 1;
	}
	html_add(h, run, (size_t)(s - run));
}

void
html_printf(struct html *h, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	html_add(h, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

char *
html_take(struct html *h, size_t *len)
{
	char *p = h->p;

	if (p == NULL)
		p = xstrdup("");
	*len = h->len;
	h->p = NULL;
	h->len = h->cap = 0;
	return p;
}

void
html_free(struct html *h)
{
	if (h->p != NULL)
		explicit_bzero(h->p, h->len); /* a page may hold a Jupyter token */
	free(h->p);
	h->p = NULL;
	h->len = h->cap = 0;
}

/* A round number at or above v, for the axis (1, 2, 5 times a power of ten). */
static double
axis_top(double v)
{
	double p = 1e-3;

	if (v <= 0)
		return 1;
	while (p * 10 <= v)
		p *= 10;
	if (v <= p)
		return p;
	if (v <= 2 * p)
		return 2 * p;
	if (v <= 5 * p)
		return 5 * p;
	return 10 * p;
}

void
html_bar_chart(struct html *h, const char *title, const char *const *labels, const double *values,
               size_t n, const char *unit, size_t label_every)
{
	const double W = 640, H = 220, left = 48, right = 8, top = 24, bottom = 36;
	double max = 0, top_v, slot, bw;

	for (size_t i = 0; i < n; i++)
		if (values[i] > max)
			max = values[i];
	top_v = axis_top(max);
	slot = n ? (W - left - right) / (double)n : 0;
	bw = slot > 2 ? slot * 0.8 : slot;
	if (label_every == 0)
		label_every = 1;
	html_printf(h,
	            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%.0f\" "
	            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"",
	            W, H, W, H);
	html_esc(h, title);
	html_lit(h, "\"><title>");
	html_esc(h, title);
	html_lit(h, "</title>");
	html_printf(h,
	            "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>"
	            "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>",
	            left, top, left, H - bottom, left, H - bottom, W - right, H - bottom);
	html_printf(h,
	            "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%g</text>"
	            "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">0</text>",
	            left - 4, top + 4, top_v, left - 4, H - bottom);
	html_printf(h, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">", left, top - 8);
	html_esc(h, unit);
	html_lit(h, "</text>");
	for (size_t i = 0; i < n; i++) {
		double bh = values[i] > 0 ? (values[i] / top_v) * (H - top - bottom) : 0;
		double x = left + slot * (double)i + (slot - bw) / 2;

		html_printf(
		    h,
		    "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		    "fill=\"#3b7dd8\"><title>",
		    x, H - bottom - bh, bw, bh);
		html_esc(h, labels[i]);
		html_printf(h, ": %.2f ", values[i]);
		html_esc(h, unit);
		html_lit(h, "</title></rect>");
		if (i % label_every == 0) {
			html_printf(h,
			            "<text x=\"%.1f\" y=\"%.0f\" font-size=\"10\" "
			            "text-anchor=\"middle\">",
			            x + bw / 2, H - bottom + 14);
			html_esc(h, labels[i]);
			html_lit(h, "</text>");
		}
	}
	html_lit(h, "</svg>");
}
