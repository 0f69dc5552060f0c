/*
 * sh.h — Shoal's shell: the pieces and how they talk to each other.
 *
 * A command line goes through four stages, one file each:
 *   input   edit.c    the line editor (raw tty, history) or plain lines
 *   parse   parse.c   text -> a tree of lists, and-or chains, pipelines and
 *                     simple commands; words stay raw (quotes and $ intact)
 *   expand  expand.c  raw word -> fields, when the command runs (so `$?`
 *                     sees the previous command of the same line)
 *   run     exec.c    pipelines, redirections, builtins (builtin.c), jobs
 *                     and process groups (jobs.c), variables (var.c)
 *
 * Every tree of one command line lives in one arena (struct arena) freed
 * after the line ran; a job copies the text it shows with `jobs`.
 *
 * Errors: functions return 0 or a negative value; messages go to stderr as
 * "sh: what: why" through sh_error(), printed where the problem is found.
 */
#ifndef SH_H
#define SH_H

#include <stddef.h>
#include <sys/types.h>
#include <termios.h>

/* ---------------------------------------------------------------- memory */

struct arena {
	struct arena_chunk *chunks;
};

void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A growable string (always NUL-terminated once anything was added). */
struct str {
	char *s;
	size_t len, cap;
};

void str_addc(struct str *b, char c);
void str_addn(struct str *b, const char *s, size_t n);
void str_adds(struct str *b, const char *s);
void str_free(struct str *b);

/* A growable NULL-terminated vector of malloc'ed strings. */
struct strv {
	char **v;
	int n, cap;
};

void strv_add(struct strv *sv, char *s); /* takes ownership of s */
void strv_free(struct strv *sv);

/* ----------------------------------------------------------------- parse */

enum redir_op {
	R_IN, /* N<file */
	R_OUT, /* N>file */
	R_APPEND, /* N>>file */
	R_RDWR, /* N<>file */
	R_DUP, /* N>&M, N<&M, N>&- (close) */
	R_BOTH, /* &>file: stdout and stderr */
	R_BOTHAPP /* &>>file */
};

struct redir {
	struct redir *next;
	int fd;
	enum redir_op op;
	const char *word; /* raw: expanded when applied */
};

struct list;

/* A simple command (words), a subshell ( list ) or a group { list; }, each
 * with its redirections. */
struct command {
	struct command *next; /* the next command of the pipeline */
	const char **words; /* raw words, NULL-terminated */
	int nwords;
	struct redir *redirs;
	struct list *subshell;
	struct list *group;
};

/* cmd | cmd | ...; and-or chains link pipelines with && or ||. */
struct pipeline {
	struct pipeline *next; /* next in the and-or chain */
	int op_next; /* AO_AND or AO_OR joining it to next */
	int bang; /* `! pipeline` inverts the status */
	struct command *cmds;
	int ncmds;
	const char *text; /* source text, for jobs and messages */
};

enum { AO_NONE, AO_AND, AO_OR };

/* One entry of a list: an and-or chain ended by ; newline or &. */
struct list {
	struct list *next;
	struct pipeline *chain;
	int background;
	const char *text;
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_ERROR = -1, /* message printed */
	PARSE_INCOMPLETE = -2, /* needs another line (open quote, trailing |) */
};

#define NOEND ((size_t)-1)

/* The end of the quote, substitution or character starting at s[i]: the
 * position after it, or NOEND if the input ends first. */
size_t skip_unit(const char *s, size_t i);

/* Parse src into *out (allocated in a). Empty input gives *out == NULL. */
int parse(struct arena *a, const char *src, struct list **out);

/* ---------------------------------------------------------------- expand */

/* Expand a raw word into fields (splitting and globbing on) appended to out. */
int expand_fields(const char *raw, struct strv *out);
/* Expand a raw word into one string (no splitting, no globbing): for
 * redirection targets, assignments and `case`-like uses. NULL on error. */
char *expand_one(const char *raw);
/* The output of `cmd` as $(cmd) gives it (trailing newlines removed). */
char *command_subst(const char *text, size_t len);
/* The status of the last command substitution, -1 if none ran since it was
 * reset: an assignment-only command (x=$(false)) takes it as its status. */
extern int last_subst_status;

/* --------------------------------------------------------------- vars */

void var_init(char **envp);
const char *var_get(const char *name);
int var_set(const char *name, const char *value, int export);
int var_unset(const char *name);
int var_export(const char *name);
int var_valid_name(const char *s, size_t n);
char **var_environ(void); /* malloc'ed, for execve; free with strv */
void var_print(int exported_only);

/* ---------------------------------------------------------------- exec */

/* Shell-wide state. */
struct shell {
	const char *name; /* $0 */
	char **argv; /* $1..: positional parameters */
	int argc;
	int status; /* $? */
	pid_t pid; /* $$ */
	pid_t last_bg; /* $! */
	int interactive; /* prompts, line editing if tty works */
	int jobctl; /* process groups and tcsetpgrp work */
	int editing; /* the line editor is usable */
	int login; /* started as -sh or sh -l */
	int subshell; /* a forked copy: no job control, exit at end */
	int ttyfd; /* the terminal (a private dup), or -1 */
	pid_t pgid; /* the shell's own process group */
	struct termios tmodes; /* the terminal's cooked modes */
	int exiting; /* `exit` ran: stop reading input */
	int exit_status;
};

extern struct shell sh;

void sh_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* set -e and set -x. */
extern int errexit;
void set_xtrace(int on);

/* Run a parsed list; returns its status (also in sh.status). */
int run_list(struct list *l);
/* Parse and run a whole string (sh -c, command substitution, `.`). */
int run_string(const char *src);
/* Run the commands of fd until end of input (scripts, non-tty stdin). */
int run_fd(int fd);
/* In a forked child: restore the signal dispositions the shell inherited. */
void child_signals(void);
/* The argument of exit(): the shell's exit path flushing nothing. */
void sh_exit(int status) __attribute__((noreturn));

/* ------------------------------------------------------------- builtins */

typedef int builtin_fn(int argc, char **argv);
builtin_fn *builtin_find(const char *name);
/* execve argv[0] through $PATH with the exported variables; never returns:
 * prints "sh: x: not found" (127) or the reason it cannot run (126). */
void exec_path(char **argv) __attribute__((noreturn));

/* ----------------------------------------------------------------- jobs */

enum job_state { JOB_RUNNING, JOB_STOPPED, JOB_DONE };

struct proc {
	pid_t pid;
	int status; /* wait status once done or stopped */
	enum job_state state;
};

struct job {
	int id;
	pid_t pgid;
	struct proc *procs;
	int nprocs;
	char *text;
	int notified; /* its last state change was reported */
};

struct job *job_new(const char *text);
void job_add(struct job *j, pid_t pid);
void job_free(struct job *j); /* forget it (it has no live process) */
enum job_state job_state(const struct job *j);
/* Wait for a foreground job to finish or stop; returns its status. */
int job_wait_fg(struct job *j);
/* Report and forget finished background jobs (before a prompt). */
void jobs_notify(void);
/* Announce "[N] pid" for a job started with &. */
void job_started_bg(struct job *j);
/* Hang up stopped jobs when an interactive shell exits. */
void jobs_hangup(void);
/* A wait status as $? gives it: the exit code, or 128 + the signal. */
int wait_status_to_exit(int status);
/* "Killed", "Segmentation fault (core dumped)", "Exit 3", "Done". */
const char *status_text(int status, char *buf, size_t n);

int bi_jobs(int argc, char **argv);
int bi_fg(int argc, char **argv);
int bi_bg(int argc, char **argv);
int bi_wait(int argc, char **argv);
int bi_kill(int argc, char **argv);

/* ----------------------------------------------------------------- edit */

/* Read one line (without its newline) into a malloc'ed string; NULL at end
 * of input. Ctrl-C at the prompt returns "" and sets sh.status to 130. */
char *edit_readline(const char *prompt);
extern int edit_interrupted; /* the last edit_readline ended with ^C */
void history_add(const char *line);
void history_print(void);
/* Put the terminal back into the modes commands expect. */
void tty_restore(void);

#endif
