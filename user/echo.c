/*
 * echo — print the arguments separated by spaces, then a newline.
 * -n: no newline; -e: interpret \\ \a \b \c \e \f \n \r \t \v \0NNN \xHH
 * (\c ends the output); -E: don't (the default). Options may be combined
 * (-ne); the first argument that is not one starts the text, so
 * `echo -x` prints "-x".
 */
#define PROG "echo"
#include "ucommon.h"

static const char usage[] =
	"usage: echo [-neE] [STRING...]\n"
	"Print STRINGs separated by spaces and a newline.\n"
	"  -n  no trailing newline\n"
	"  -e  interpret backslash escapes (\\n \\t \\\\ \\0NNN \\xHH \\c ...)\n"
	"  -E  do not interpret escapes (default)\n";

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Print s with escapes; returns 1 when \c asks to stop all output. */
static int put_escaped(const char *s)
{
	static const char from[] = "abefnrtv\\", to[] = "\a\b\033\f\n\r\t\v\\";
	while (*s) {
		if (*s != '\\' || !s[1]) {
			putchar(*s++);
			continue;
		}
		s++;
		const char *e = strchr(from, *s);
		if (*s == 'c')
			return 1;
		if (e) {
			putchar(to[e - from]);
			s++;
		} else if (*s == '0') {
			int v = 0;
			s++;
			for (int n = 0; n < 3 && *s >= '0' && *s <= '7'; n++)
				v = v * 8 + (*s++ - '0');
			putchar(v);
		} else if (*s == 'x' && hexval(s[1]) >= 0) {
			int v = hexval(*++s);
			if (hexval(*++s) >= 0)
				v = v * 16 + hexval(*s++);
			putchar(v);
		} else {
			putchar('\\');
		}
	}
	return 0;
}

static int is_option(const char *a)
{
	if (a[0] != '-' || !a[1])
		return 0;
	return strspn(a + 1, "neE") == strlen(a + 1);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int newline = 1, escapes = 0, i = 1;
	for (; i < argc && is_option(argv[i]); i++) {
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'n')
				newline = 0;
			else
				escapes = *p == 'e';
		}
	}
	for (; i < argc; i++) {
		if (escapes) {
			if (put_escaped(argv[i]))
				return u_flush_stdout();
		} else {
			fputs(argv[i], stdout);
		}
		if (i + 1 < argc)
			putchar(' ');
	}
	if (newline)
		putchar('\n');
	return u_flush_stdout();
}
