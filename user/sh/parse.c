/*
 * parse.c — the lexer and the recursive-descent parser.
 *
 * Grammar (a subset of POSIX sh):
 *   list     := sep* [ andor ( (';' | '&' | NL) sep* andor? )* ]
 *   andor    := pipeline ( ('&&' | '||') NL* pipeline )*
 *   pipeline := ['!'] command ( '|' NL* command )*
 *   command  := '(' list ')' redir* | '{' list '}' redir*
 *             | ( word | redir )+
 *   redir    := [N] ( '<' | '>' | '>>' | '<>' | '>&' | '<&' ) word
 *             | ( '&>' | '&>>' ) word
 * Comments run from an unquoted '#' starting a word to the end of the line.
 *
 * Words are kept raw — quotes, backslashes and $-expressions untouched — and
 * expanded by expand.c when the command runs. The lexer only has to know
 * where a word ends: quotes, $(...), ${...} and `...` may contain blanks and
 * operators. Running off the end inside one of them, or after an operator
 * that needs more (|, &&, ||, an open '('), makes parse() answer
 * PARSE_INCOMPLETE so the caller can read a continuation line.
 */
#include <ctype.h>
#include <string.h>

#include "sh.h"

enum tok {
	T_EOF,
	T_WORD,
	T_IONUM,
	T_NL,
	T_SEMI,
	T_AMP,
	T_AND,
	T_PIPE,
	T_OR,
	T_LPAREN,
	T_RPAREN,
	T_LT,
	T_GT,
	T_DGT,
	T_LTGT,
	T_GTAMP,
	T_LTAMP,
	T_AMPGT,
	T_AMPDGT,
};

struct parser {
	struct arena *a;
	const char *src;
	size_t pos; /* where the next token starts looking */
	enum tok tok; /* the current token */
	size_t start; /* its first character */
	size_t end; /* one past its last character */
	size_t lastend; /* end of the previous token */
	int ionum;
	int incomplete;
	int error;
};

static size_t skip_dquote(const char *s, size_t i);
static size_t skip_paren(const char *s, size_t i);

/* Each skip_* starts after the opening character and returns the position
 * after the closing one, or NOEND when the input ends first. */
static size_t skip_squote(const char *s, size_t i)
{
	const char *q = strchr(s + i, '\'');
	return q ? (size_t)(q - s) + 1 : NOEND;
}

static size_t skip_backq(const char *s, size_t i)
{
	for (; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == '`')
			return i + 1;
	}
	return NOEND;
}

/* One quoted or substituted unit starting at s[i], or i + 1 for a plain
 * character; NOEND if it is not closed. expand.c finds the ends of quotes
 * and substitutions with it too. */
size_t skip_unit(const char *s, size_t i)
{
	switch (s[i]) {
	case '\\':
		return s[i + 1] ? i + 2 : NOEND;
	case '\'':
		return skip_squote(s, i + 1);
	case '"':
		return skip_dquote(s, i + 1);
	case '`':
		return skip_backq(s, i + 1);
	case '$':
		if (s[i + 1] == '(')
			return skip_paren(s, i + 2);
		if (s[i + 1] == '{') {
			for (i += 2; s[i] && s[i] != '}';) {
				i = skip_unit(s, i);
				if (i == NOEND)
					return NOEND;
			}
			return s[i] ? i + 1 : NOEND;
		}
		return i + 1;
	default:
		return i + 1;
	}
}

static size_t skip_dquote(const char *s, size_t i)
{
	while (s[i] && s[i] != '"') {
		if (s[i] == '\'')
			i++; /* literal inside double quotes */
		else
			i = skip_unit(s, i);
		if (i == NOEND)
			return NOEND;
	}
	return s[i] ? i + 1 : NOEND;
}

static size_t skip_paren(const char *s, size_t i)
{
	int depth = 1;
	while (s[i]) {
		if (s[i] == '(') {
			depth++;
			i++;
		} else if (s[i] == ')') {
			if (--depth == 0)
				return i + 1;
			i++;
		} else {
			i = skip_unit(s, i);
			if (i == NOEND)
				return NOEND;
		}
	}
	return NOEND;
}

static int is_opchar(char c)
{
	return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' ||
	       c == '(' || c == ')';
}

static void next(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;

	p->lastend = p->end;
	for (;;) {
		while (s[i] == ' ' || s[i] == '\t')
			i++;
		if (s[i] == '\\' && s[i + 1] == '\n') {
			i += 2;
			continue;
		}
		if (s[i] == '#') {
			while (s[i] && s[i] != '\n')
				i++;
		}
		break;
	}
	p->start = i;
	if (!s[i]) {
		p->tok = T_EOF;
		p->pos = p->end = i;
		return;
	}
	static const struct {
		const char *text;
		enum tok tok;
	} ops[] = {
		{"&>>", T_AMPDGT}, {"&&", T_AND},   {"&>", T_AMPGT},
		{"&", T_AMP},	   {"||", T_OR},    {"|", T_PIPE},
		{";", T_SEMI},	   {"\n", T_NL},    {">>", T_DGT},
		{">&", T_GTAMP},   {">|", T_GT},    {">", T_GT},
		{"<>", T_LTGT},	   {"<&", T_LTAMP}, {"<", T_LT},
		{"(", T_LPAREN},   {")", T_RPAREN},
	};
	for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
		size_t n = strlen(ops[k].text);
		if (!strncmp(s + i, ops[k].text, n)) {
			p->tok = ops[k].tok;
			p->pos = p->end = i + n;
			return;
		}
	}
	size_t j = i;
	while (s[j] && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' &&
	       !is_opchar(s[j])) {
		j = skip_unit(s, j);
		if (j == NOEND) {
			p->incomplete = 1;
			p->tok = T_EOF;
			p->pos = p->end = strlen(s);
			return;
		}
	}
	p->tok = T_WORD;
	p->pos = p->end = j;
	if ((s[j] == '<' || s[j] == '>') && j - i <= 4) {
		int all_digits = 1;
		for (size_t k = i; k < j; k++)
			all_digits &= isdigit((unsigned char)s[k]) != 0;
		if (all_digits) {
			p->tok = T_IONUM;
			p->ionum = 0;
			for (size_t k = i; k < j; k++)
				p->ionum = p->ionum * 10 + (s[k] - '0');
		}
	}
}

static const char *tok_text(struct parser *p)
{
	static char buf[32];
	if (p->tok == T_EOF)
		return "end of file";
	if (p->tok == T_NL)
		return "newline";
	size_t n = p->end - p->start;
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, p->src + p->start, n);
	buf[n] = 0;
	return buf;
}

/* A syntax error at the current token; at the end of input it only means
 * the command is not finished yet. */
static void syntax_error(struct parser *p)
{
	if (p->error || p->incomplete)
		return;
	if (p->tok == T_EOF) {
		p->incomplete = 1;
		return;
	}
	sh_error("syntax error near `%s'", tok_text(p));
	p->error = 1;
}

static void skip_newlines(struct parser *p)
{
	while (p->tok == T_NL)
		next(p);
}

static int is_word_tok(struct parser *p, const char *w)
{
	size_t n = strlen(w);
	return p->tok == T_WORD && p->end - p->start == n &&
	       !strncmp(p->src + p->start, w, n);
}

/* What ends a list: the input, a ')' or a '}' in command position. */
enum { IN_TOP, IN_PAREN, IN_BRACE };

static struct list *parse_list(struct parser *p, int in);

static int parse_redir(struct parser *p, struct command *c)
{
	int fd = -1;
	if (p->tok == T_IONUM) {
		fd = p->ionum;
		next(p);
	}
	struct redir *r = arena_alloc(p->a, sizeof *r);
	switch (p->tok) {
	case T_LT:
		r->op = R_IN;
		r->fd = 0;
		break;
	case T_GT:
		r->op = R_OUT;
		r->fd = 1;
		break;
	case T_DGT:
		r->op = R_APPEND;
		r->fd = 1;
		break;
	case T_LTGT:
		r->op = R_RDWR;
		r->fd = 0;
		break;
	case T_GTAMP:
		r->op = R_DUP;
		r->fd = 1;
		break;
	case T_LTAMP:
		r->op = R_DUP;
		r->fd = 0;
		break;
	case T_AMPGT:
		r->op = R_BOTH;
		r->fd = 1;
		break;
	case T_AMPDGT:
		r->op = R_BOTHAPP;
		r->fd = 1;
		break;
	default:
		syntax_error(p);
		return -1;
	}
	if (fd >= 0)
		r->fd = fd;
	next(p);
	if (p->tok != T_WORD) {
		syntax_error(p);
		return -1;
	}
	r->word = arena_strndup(p->a, p->src + p->start, p->end - p->start);
	next(p);
	struct redir **tail = &c->redirs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	return 0;
}

static int is_redir_tok(enum tok t)
{
	return t == T_IONUM || (t >= T_LT && t <= T_AMPDGT);
}

static struct command *parse_command(struct parser *p)
{
	struct command *c = arena_alloc(p->a, sizeof *c);
	int paren = p->tok == T_LPAREN;
	if (paren || is_word_tok(p, "{")) {
		next(p);
		struct list *l = parse_list(p, paren ? IN_PAREN : IN_BRACE);
		if (p->error || p->incomplete)
			return NULL;
		if (paren ? p->tok != T_RPAREN : !is_word_tok(p, "}")) {
			syntax_error(p);
			return NULL;
		}
		if (!l) {
			sh_error("syntax error near `%s'", paren ? ")" : "}");
			p->error = 1;
			return NULL;
		}
		if (paren)
			c->subshell = l;
		else
			c->group = l;
		next(p);
		while (is_redir_tok(p->tok))
			if (parse_redir(p, c))
				return NULL;
		return c;
	}
	int cap = 0;
	for (;;) {
		if (p->tok == T_WORD) {
			if (c->nwords + 2 > cap) {
				cap = cap ? cap * 2 : 8;
				const char **w =
					arena_alloc(p->a, cap * sizeof *w);
				if (c->nwords)
					memcpy(w, c->words,
					       c->nwords * sizeof *w);
				c->words = w;
			}
			c->words[c->nwords++] = arena_strndup(
				p->a, p->src + p->start, p->end - p->start);
			c->words[c->nwords] = NULL;
			next(p);
		} else if (is_redir_tok(p->tok)) {
			if (parse_redir(p, c))
				return NULL;
		} else {
			break;
		}
	}
	if (!c->nwords && !c->redirs) {
		syntax_error(p);
		return NULL;
	}
	return c;
}

static struct pipeline *parse_pipeline(struct parser *p)
{
	struct pipeline *pl = arena_alloc(p->a, sizeof *pl);
	size_t start = p->start;
	if (is_word_tok(p, "!")) {
		pl->bang = 1;
		next(p);
	}
	struct command **tail = &pl->cmds;
	for (;;) {
		struct command *c = parse_command(p);
		if (!c)
			return NULL;
		*tail = c;
		tail = &c->next;
		pl->ncmds++;
		if (p->tok != T_PIPE)
			break;
		next(p);
		skip_newlines(p);
	}
	pl->text = arena_strndup(p->a, p->src + start, p->lastend - start);
	return pl;
}

static struct pipeline *parse_andor(struct parser *p)
{
	struct pipeline *first = NULL, **tail = &first;
	for (;;) {
		struct pipeline *pl = parse_pipeline(p);
		if (!pl)
			return NULL;
		*tail = pl;
		tail = &pl->next;
		if (p->tok == T_AND)
			pl->op_next = AO_AND;
		else if (p->tok == T_OR)
			pl->op_next = AO_OR;
		else
			return first;
		next(p);
		skip_newlines(p);
	}
}

static int list_end(struct parser *p, int in)
{
	return (in == IN_PAREN && p->tok == T_RPAREN) ||
	       (in == IN_BRACE && is_word_tok(p, "}"));
}

static struct list *parse_list(struct parser *p, int in)
{
	struct list *first = NULL, **tail = &first;
	for (;;) {
		skip_newlines(p);
		if (p->tok == T_SEMI) {
			syntax_error(p);
			return NULL;
		}
		if (p->tok == T_EOF) {
			if (in != IN_TOP)
				p->incomplete = 1;
			return first;
		}
		if (list_end(p, in))
			return first;
		size_t start = p->start;
		struct list *l = arena_alloc(p->a, sizeof *l);
		l->chain = parse_andor(p);
		if (!l->chain)
			return NULL;
		l->text =
			arena_strndup(p->a, p->src + start, p->lastend - start);
		*tail = l;
		tail = &l->next;
		if (p->tok == T_AMP) {
			l->background = 1;
			next(p);
		} else if (p->tok == T_SEMI || p->tok == T_NL) {
			next(p);
		} else if (p->tok == T_EOF ||
			   (in == IN_PAREN && p->tok == T_RPAREN)) {
			continue;
		} else {
			syntax_error(p);
			return NULL;
		}
	}
}

int parse(struct arena *a, const char *src, struct list **out)
{
	struct parser p = {.a = a, .src = src};
	next(&p);
	*out = parse_list(&p, IN_TOP);
	if (!p.error && !p.incomplete && p.tok != T_EOF)
		syntax_error(&p);
	if (p.incomplete)
		return PARSE_INCOMPLETE;
	return p.error ? PARSE_ERROR : PARSE_OK;
}
