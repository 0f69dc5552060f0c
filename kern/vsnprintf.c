/*
 * vsnprintf.c — formatted output into a buffer: %d %i %u %x %X %o %p %s %c %%
 * with flags '-', '0', ' ', '+', '#', width and precision (also '*'), and the
 * length modifiers hh h l ll z t j. Pure C, shared with the host tests.
 * Always NUL-terminates when size > 0; returns the length it wanted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/kern.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

enum { F_LEFT = 1, F_ZERO = 2, F_SPACE = 4, F_PLUS = 8, F_ALT = 16 };

static void number(struct out *o, uint64_t v, bool neg, unsigned base,
		   bool upper, int flags, int width, int prec)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (prec == 0 && n == 1 && tmp[0] == '0')
		n = 0;
	char sign = neg			? '-'
		    : (flags & F_PLUS)	? '+'
		    : (flags & F_SPACE) ? ' '
					: 0;
	const char *prefix = "";
	if ((flags & F_ALT) && base == 16)
		prefix = upper ? "0X" : "0x";
	else if ((flags & F_ALT) && base == 8)
		prefix = "0";
	int zeros = prec > n ? prec - n : 0;
	int body = n + zeros + (sign ? 1 : 0) + (int)strlen(prefix);
	if (!(flags & F_LEFT) && !((flags & F_ZERO) && prec < 0))
		pad(o, ' ', width - body);
	if (sign)
		put(o, sign);
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	if (!(flags & F_LEFT) && (flags & F_ZERO) && prec < 0)
		pad(o, '0', width - body);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (flags & F_LEFT)
		pad(o, ' ', width - body);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		int flags = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				flags |= F_LEFT;
			else if (*fmt == '0')
				flags |= F_ZERO;
			else if (*fmt == ' ')
				flags |= F_SPACE;
			else if (*fmt == '+')
				flags |= F_PLUS;
			else if (*fmt == '#')
				flags |= F_ALT;
			else
				break;
		}
		int width = 0;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = -width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		int prec = -1;
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		int lng =
			0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long / size_t */
		for (;; fmt++) {
			if (*fmt == 'h')
				lng--;
			else if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j')
				lng = 2;
			else
				break;
		}
		char c = *fmt;
		if (!c)
			break;
		switch (c) {
		case 'd':
		case 'i': {
			int64_t v = lng >= 1 ? va_arg(ap, int64_t)
					     : va_arg(ap, int);
			if (lng == -1)
				v = (short)v;
			else if (lng <= -2)
				v = (signed char)v;
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			number(&o, mag, v < 0, 10, false, flags, width, prec);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v = lng >= 1 ? va_arg(ap, uint64_t)
					      : va_arg(ap, unsigned);
			if (lng == -1)
				v = (unsigned short)v;
			else if (lng <= -2)
				v = (unsigned char)v;
			unsigned base = c == 'u' ? 10 : c == 'o' ? 8 : 16;
			number(&o, v, false, base, c == 'X', flags, width,
			       prec);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			number(&o, v, false, 16, false, flags | F_ALT, width,
			       prec);
			break;
		}
		case 'c':
			if (!(flags & F_LEFT))
				pad(&o, ' ', width - 1);
			put(&o, (char)va_arg(ap, int));
			if (flags & F_LEFT)
				pad(&o, ' ', width - 1);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int n = (int)strnlen(s, prec < 0 ? (size_t)-1
							 : (size_t)prec);
			if (!(flags & F_LEFT))
				pad(&o, ' ', width - n);
			for (int i = 0; i < n; i++)
				put(&o, s[i]);
			if (flags & F_LEFT)
				pad(&o, ' ', width - n);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default: /* unknown conversion: print it as is */
			put(&o, '%');
			put(&o, c);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
