/* Subcommand entry points, and the option tables every subcommand declares
 * its options in: parsing, --help and the range errors all come from one
 * table (src/cli/opts.c turns it into an argp parser). */
#ifndef STAGENET_CLI_H
#define STAGENET_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "stagenet/plat.h"


/* How an option's argument is checked and where it is stored (at `off` in
 * the subcommand's option struct). */
enum sn_opt_kind {
	SN_OPT_SET,    /* no argument; bool = true */
	SN_OPT_CLEAR,  /* no argument; bool = false */
	SN_OPT_STR,    /* const char *, not empty */
	SN_OPT_LONG,   /* long in [min, max] */
	SN_OPT_DOUBLE, /* double in [min, max] */
	SN_OPT_CHOICE, /* int: the value of one of `choices` */
	SN_OPT_LIST,   /* struct sn_opt_list: comma-separated, each entry a
			* choice (if `choices`) or a long in [min, max] */
	SN_OPT_CHECK,  /* const char *, accepted by `check` */
};

struct sn_opt_choice {
	const char *name;
	int value;
};

#define SN_OPT_LIST_MAX 16
struct sn_opt_list {
	unsigned int n;
	long v[SN_OPT_LIST_MAX];
};

/* One option.  A table is an array of these ended by one with name NULL. */
struct sn_opt {
	const char *name;  /* long name without "--" */
	char short_name;   /* 0: long only */
	const char *arg;   /* metavariable in --help; NULL for SET/CLEAR */
	enum sn_opt_kind kind;
	size_t off;        /* offsetof() the field in the option struct */
	double min, max;   /* LONG, DOUBLE, numeric LIST (whole numbers for LONG) */
	const struct sn_opt_choice *choices; /* CHOICE, LIST; ended by name NULL */
	unsigned int max_items; /* LIST: 0 = SN_OPT_LIST_MAX */
	bool required;
	/* CHECK: NULL if arg is good, else what it must look like. */
	const char *(*check)(const char *arg);
	const char *help;  /* the range (LONG, DOUBLE) is appended to it */
};

/* A subcommand's command line. */
struct sn_opts_spec {
	const char *cmd;         /* "front": messages say "stagenet front: ..." */
	const char *args;        /* operands for the usage line, or NULL */
	const char *doc;         /* what the subcommand does (before the options) */
	const char *doc_after;   /* after the options, or NULL */
	const struct sn_opt *opts;
	/* Takes the common options (--platform, --domid), stored in the
	 * struct sn_common_opts at common_off. */
	bool common;
	size_t common_off;
	/* Operands: up to max_args, stored as const char * from args_off on. */
	unsigned int max_args;
	size_t args_off;
};

/* The common options, one parser shared by every subcommand that runs on
 * a platform. */
struct sn_common_opts {
	int platform; /* enum sn_plat_kind */
	long domid;   /* -1 = not given */
};

/* The common options' table, and each subcommand's: what a generator of
 * man pages or shell completion walks (with main.c's list of them). */
extern const struct sn_opt sn_common_opt_table[];
extern const struct sn_opts_spec sn_host_spec, sn_front_spec, sn_back_spec, sn_vif_add_spec,
	sn_vif_del_spec, sn_probe_spec, sn_stats_spec, sn_bench_spec, sn_wire_spec;

struct sn_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
	const struct sn_opts_spec *spec;   /* its options */
};

int sn_cmd_host(int argc, char **argv);
int sn_cmd_probe(int argc, char **argv);
int sn_cmd_back(int argc, char **argv);
int sn_cmd_vif_add(int argc, char **argv);
int sn_cmd_vif_del(int argc, char **argv);
int sn_cmd_stats(int argc, char **argv);
int sn_cmd_front(int argc, char **argv);
int sn_cmd_bench(int argc, char **argv);
int sn_cmd_wire(int argc, char **argv);

#define SN_OPTS_DONE 1 /* --help, --usage or --version was printed */

/* Parse argv (argv[0] is the subcommand name) into dst, after the caller
 * filled dst with the defaults.  Returns 0 to run the subcommand,
 * SN_OPTS_DONE, or -EINVAL after printing the usage error. */
int sn_opts_parse(const struct sn_opts_spec *spec, int argc, char **argv, void *dst);
/* The exit status for a non-zero sn_opts_parse result: 0 or 2. */
static inline int sn_opts_exit(int rc)
{
	return rc > 0 ? 0 : 2;
}
/* Print "stagenet <cmd>: <msg>" and the --help hint, for usage errors the
 * tables cannot express (options that depend on each other). */
void sn_opts_error(const struct sn_opts_spec *spec, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* `stagenet --help`, `stagenet --version` and the subcommand dispatch. */
int sn_opts_main(const struct sn_cmd *cmds, size_t n, int argc, char **argv);

#endif
