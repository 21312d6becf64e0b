/* The option tables (cli.h) turned into glibc argp parsers: one table per
 * subcommand plus the shared children (--platform/--domid, and
 * --help/--usage/--version), so parsing, --help and every range error come
 * from the same entries.  argp runs with ARGP_NO_EXIT: a subcommand decides
 * how it exits, and the parse can be tested without a process exiting. */
#include <argp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "version.h" /* generated: SN_GIT_DESCRIBE */

#ifndef SN_VERSION
#define SN_VERSION "unknown"
#endif

/* argp's documented hook for `--version` and help2man's first line
 * ("PROGRAM VERSION"); the git description says which tree it is. */
const char *argp_program_version = "stagenet " SN_VERSION " (git " SN_GIT_DESCRIBE ")";

#define OPTS_MAX 32
/* Keys of long-only options: past every printable short option. */
#define KEY_BASE 0x100
/* Private parser result: help/usage/version printed, stop parsing. */
#define OPTS_STOP ECANCELED

/* One table bound to the struct it stores into. */
struct optset {
	const struct sn_opt *opts;
	void *dst;
	unsigned int n;
	uint32_t seen; /* bit i: opts[i] was given */
	struct argp_option a[OPTS_MAX + 2];
	char docs[OPTS_MAX][200];
};

struct parse_ctx {
	const struct sn_opts_spec *spec;
	struct optset cmd, common;
	unsigned int nargs;
	char doc[1024];
	char args[256];
};

static const struct sn_opt_choice platform_choices[] = {
	{ "emu", SN_PLAT_EMU }, { "xen", SN_PLAT_XEN }, { "auto", SN_PLAT_AUTO }, { NULL, 0 },
};

const struct sn_opt sn_common_opt_table[] = {
	{ .name = "platform", .arg = "emu|xen|auto", .kind = SN_OPT_CHOICE,
	  .off = offsetof(struct sn_common_opts, platform), .choices = platform_choices,
	  .help = "hypervisor interface (default auto: xen when /dev/xen/privcmd exists, "
		  "else emu)" },
	{ .name = "domid", .arg = "N", .kind = SN_OPT_LONG,
	  .off = offsetof(struct sn_common_opts, domid), .min = 0, .max = 0x7FEF,
	  .help = "our domain id (emu; default depends on the subcommand)" },
	{ .name = NULL },
};

enum { STD_HELP = 'h', STD_VERSION = 'V', STD_USAGE = KEY_BASE };

static const struct argp_option std_options[] = {
	{ "help", STD_HELP, NULL, 0, "give this help list", -1 },
	{ "usage", STD_USAGE, NULL, 0, "give a short usage message", -1 },
	{ "version", STD_VERSION, NULL, 0, "print program version", -1 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

static void opt_name(const struct sn_opt *o, char *buf, size_t len)
{
	snprintf(buf, len, "--%s", o->name);
}

static void range_text(const struct sn_opt *o, char *buf, size_t len)
{
	if (o->choices) {
		size_t used = 0;

		buf[0] = '\0';
		for (const struct sn_opt_choice *c = o->choices; c->name && used < len; c++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 c == o->choices ? "" :
						 (c + 1)->name ? ", " : " or ", c->name);
	} else if (o->kind == SN_OPT_DOUBLE) {
		snprintf(buf, len, "%g..%g", o->min, o->max);
	} else {
		snprintf(buf, len, "%.0f..%.0f", o->min, o->max);
	}
}

static int parse_long(const char *s, const struct sn_opt *o, long *out)
{
	char *end;
	long v;

	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || (double)v < o->min || (double)v > o->max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_choice(const char *s, const struct sn_opt *o, int *out)
{
	for (const struct sn_opt_choice *c = o->choices; c->name; c++)
		if (!strcmp(s, c->name)) {
			*out = c->value;
			return 0;
		}
	return -EINVAL;
}

static int parse_list(const struct argp_state *st, const struct sn_opt *o, const char *arg,
		      struct sn_opt_list *l)
{
	unsigned int max = o->max_items ? o->max_items : SN_OPT_LIST_MAX;
	char name[64], range[128], item[64];
	const char *p = arg;

	opt_name(o, name, sizeof(name));
	range_text(o, range, sizeof(range));
	l->n = 0;
	do {
		size_t len = strcspn(p, ",");
		int c = 0;
		long v = 0;

		if (l->n == max) {
			argp_error(st, "bad value for %s: '%s' (at most %u entries)", name, arg, max);
			return -EINVAL;
		}
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		if (len >= sizeof(item) ||
		    (o->choices ? parse_choice(item, o, &c) : parse_long(item, o, &v))) {
			argp_error(st, "bad value for %s: '%s' (each must be %s)", name, item, range);
			return -EINVAL;
		}
		l->v[l->n++] = o->choices ? c : v;
		p += len;
	} while (*p++ == ',');
	return 0;
}

/* Check arg against o and store it; on error print why (option, value and
 * what it must be) and return -EINVAL. */
static int opt_store(const struct argp_state *st, const struct sn_opt *o, void *dst,
		     const char *arg)
{
	char *field = (char *)dst + o->off, name[64], range[128];
	const char *want = NULL;
	char *end;
	double d;

	opt_name(o, name, sizeof(name));
	range_text(o, range, sizeof(range));
	switch (o->kind) {
	case SN_OPT_SET:
	case SN_OPT_CLEAR:
		*(bool *)field = o->kind == SN_OPT_SET;
		return 0;
	case SN_OPT_STR:
		if (!*arg)
			want = "non-empty";
		else
			*(const char **)field = arg;
		break;
	case SN_OPT_LONG:
		if (parse_long(arg, o, (long *)field))
			want = range;
		break;
	case SN_OPT_DOUBLE:
		errno = 0;
		d = strtod(arg, &end);
		if (errno || end == arg || *end || !(d >= o->min && d <= o->max))
			want = range;
		else
			*(double *)field = d;
		break;
	case SN_OPT_CHOICE:
		if (parse_choice(arg, o, (int *)field))
			want = range;
		break;
	case SN_OPT_LIST:
		return parse_list(st, o, arg, (struct sn_opt_list *)field);
	case SN_OPT_CHECK:
		want = o->check(arg);
		if (!want)
			*(const char **)field = arg;
		break;
	}
	if (!want)
		return 0;
	argp_error(st, "bad value for %s: '%s' (must be %s)", name, arg, want);
	return -EINVAL;
}

/* The argp options of one table; its help texts get the range appended. */
static int optset_build(struct optset *s, const struct sn_opt *opts, void *dst)
{
	char range[128];

	s->opts = opts;
	s->dst = dst;
	s->seen = 0;
	for (s->n = 0; opts[s->n].name; s->n++) {
		const struct sn_opt *o = &opts[s->n];
		struct argp_option *a = &s->a[s->n];

		if (s->n == OPTS_MAX)
			return -E2BIG;
		memset(a, 0, sizeof(*a));
		a->name = o->name;
		a->key = o->short_name ? o->short_name : KEY_BASE + (int)s->n;
		a->arg = o->kind == SN_OPT_SET || o->kind == SN_OPT_CLEAR ? NULL : o->arg;
		a->doc = o->help;
		if (o->kind == SN_OPT_LONG || o->kind == SN_OPT_DOUBLE ||
		    (o->kind == SN_OPT_LIST && !o->choices)) {
			range_text(o, range, sizeof(range));
			snprintf(s->docs[s->n], sizeof(s->docs[s->n]), "%s [%s]", o->help, range);
			a->doc = s->docs[s->n];
		}
	}
	memset(&s->a[s->n], 0, sizeof(s->a[s->n]));
	return 0;
}

static int optset_key(const struct optset *s, int key)
{
	if (key >= KEY_BASE && key < KEY_BASE + (int)s->n)
		return key - KEY_BASE;
	for (unsigned int i = 0; i < s->n; i++)
		if (s->opts[i].short_name && s->opts[i].short_name == key)
			return (int)i;
	return -1;
}

static int optset_parse(struct optset *s, int key, const char *arg, struct argp_state *st)
{
	int i = optset_key(s, key);

	if (i < 0)
		return ARGP_ERR_UNKNOWN;
	s->seen |= 1u << i;
	return opt_store(st, &s->opts[i], s->dst, arg ? arg : "") ? EINVAL : 0;
}

static error_t common_parser(int key, char *arg, struct argp_state *st)
{
	return optset_parse(st->input, key, arg, st);
}

static error_t std_parser(int key, char *arg, struct argp_state *st)
{
	(void)arg;
	switch (key) {
	case STD_HELP:
		argp_state_help(st, stdout, ARGP_HELP_STD_HELP);
		return OPTS_STOP;
	case STD_USAGE:
		argp_state_help(st, stdout, ARGP_HELP_USAGE);
		return OPTS_STOP;
	case STD_VERSION:
		printf("%s\n", argp_program_version);
		return OPTS_STOP;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp std_argp = { std_options, std_parser, NULL, NULL, NULL, NULL, NULL };

static error_t cmd_parser(int key, char *arg, struct argp_state *st)
{
	struct parse_ctx *c = st->input;
	const struct sn_opts_spec *spec = c->spec;

	switch (key) {
	case ARGP_KEY_INIT:
		st->child_inputs[0] = &c->common;
		return 0;
	case ARGP_KEY_ARG:
		if (c->nargs >= spec->max_args) {
			argp_error(st, "unexpected argument '%s'", arg);
			return EINVAL;
		}
		((const char **)((char *)c->cmd.dst + spec->args_off))[c->nargs++] = arg;
		return 0;
	case ARGP_KEY_END:
		for (unsigned int i = 0; i < c->cmd.n; i++)
			if (spec->opts[i].required && !(c->cmd.seen & (1u << i))) {
				argp_error(st, "--%s is required", spec->opts[i].name);
				return EINVAL;
			}
		return 0;
	}
	return optset_parse(&c->cmd, key, arg, st);
}

int sn_opts_parse(const struct sn_opts_spec *spec, int argc, char **argv, void *dst)
{
	struct parse_ctx *c;
	struct argp_child children[3] = { { 0 } };
	struct argp common = { NULL, common_parser, NULL, NULL, NULL, NULL, NULL };
	struct argp root = { NULL, cmd_parser, NULL, NULL, children, NULL, NULL };
	char name[64], *argv0 = argv[0];
	int nchild = 0, rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->spec = spec;
	if (optset_build(&c->cmd, spec->opts, dst) ||
	    optset_build(&c->common, sn_common_opt_table,
			 spec->common ? (char *)dst + spec->common_off : NULL)) {
		free(c);
		return -E2BIG;
	}
	/* argp prints "\v"-separated doc before and after the options. */
	snprintf(c->doc, sizeof(c->doc), "%s%s%s", spec->doc ? spec->doc : "",
		 spec->doc_after ? "\v" : "", spec->doc_after ? spec->doc_after : "");
	root.doc = c->doc;
	/* The usage line names the required options (argp's says only
	 * [OPTION...]), then the operands. */
	for (size_t i = 0, used = 0; i < c->cmd.n && used < sizeof(c->args); i++)
		if (spec->opts[i].required)
			used += (size_t)snprintf(c->args + used, sizeof(c->args) - used, "%s--%s=%s",
						 used ? " " : "", spec->opts[i].name,
						 spec->opts[i].arg);
	if (spec->args)
		snprintf(c->args + strlen(c->args), sizeof(c->args) - strlen(c->args), "%s%s",
			 c->args[0] ? " " : "", spec->args);
	root.args_doc = c->args[0] ? c->args : NULL;
	/* glibc's argp leaks its per-parser tables when handed an empty
	 * option list (hol_free skips them), so no options is NULL. */
	root.options = c->cmd.n ? c->cmd.a : NULL;
	common.options = c->common.a;
	/* The common set is child 0 when taken (cmd_parser hands it its
	 * input there; std_parser needs none). */
	if (spec->common)
		children[nchild++] = (struct argp_child){ &common, 0, "Common options:", 0 };
	children[nchild++] = (struct argp_child){ &std_argp, 0, NULL, -1 };
	/* Messages and the usage line say "stagenet <cmd>". */
	snprintf(name, sizeof(name), "stagenet %s", spec->cmd);
	argv[0] = name;
	rc = argp_parse(&root, argc, argv, ARGP_NO_EXIT | ARGP_NO_HELP, NULL, c);
	argv[0] = argv0;
	free(c);
	if (rc == OPTS_STOP)
		return SN_OPTS_DONE;
	return rc ? -EINVAL : 0;
}

void sn_opts_error(const struct sn_opts_spec *spec, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stagenet %s: ", spec->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry `stagenet %s --help' or `stagenet %s --usage' for more information.\n",
		spec->cmd, spec->cmd);
}

/* The top level: options, then the subcommand, whose own options are
 * left to it (ARGP_IN_ORDER: parsing stops at the first operand). */
struct main_ctx {
	const struct sn_cmd *cmds;
	size_t n;
	const struct sn_cmd *cmd; /* the subcommand given */
	int cmd_at;               /* its argv index */
};

static error_t main_parser(int key, char *arg, struct argp_state *st)
{
	struct main_ctx *m = st->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (!strcmp(arg, "help"))
			return std_parser(STD_HELP, NULL, st);
		for (size_t i = 0; i < m->n; i++)
			if (!strcmp(arg, m->cmds[i].name)) {
				m->cmd = &m->cmds[i];
				m->cmd_at = st->next - 1;
				st->next = st->argc; /* the rest is the subcommand's */
				return 0;
			}
		argp_error(st, "unknown subcommand '%s'", arg);
		return EINVAL;
	case ARGP_KEY_NO_ARGS:
		argp_state_help(st, stderr, ARGP_HELP_STD_HELP & ~ARGP_HELP_EXIT_OK);
		return EINVAL;
	}
	return ARGP_ERR_UNKNOWN;
}

int sn_opts_main(const struct sn_cmd *cmds, size_t n, int argc, char **argv)
{
	struct argp_option *opts;
	struct argp_child children[] = { { &std_argp, 0, NULL, -1 }, { 0 } };
	struct argp root = { NULL, main_parser, "SUBCOMMAND [OPTION...]",
			     "One binary, one subcommand per job; `stagenet SUBCOMMAND --help` "
			     "describes each.", children, NULL, NULL };
	struct main_ctx m = { cmds, n, NULL, 0 };
	int rc;

	/* The subcommands are listed as documentation entries of the option
	 * list, so help2man and completion see them like options. */
	opts = calloc(n + 2, sizeof(*opts));
	if (!opts)
		return 1;
	opts[0] = (struct argp_option){ NULL, 0, NULL, 0, "Subcommands:", 1 };
	for (size_t i = 0; i < n; i++)
		opts[i + 1] = (struct argp_option){ cmds[i].name, 0, NULL,
						    OPTION_DOC | OPTION_NO_USAGE,
						    cmds[i].summary, 1 };
	root.options = opts;
	rc = argp_parse(&root, argc, argv, ARGP_NO_EXIT | ARGP_NO_HELP | ARGP_IN_ORDER, NULL, &m);
	free(opts);
	if (rc == OPTS_STOP)
		return 0;
	if (rc || !m.cmd)
		return 2;
	return m.cmd->run(argc - m.cmd_at, argv + m.cmd_at);
}
