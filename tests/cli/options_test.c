/* The command line as a user meets it, one table row per case: every
 * subcommand's --help exits 0 and shows the range its errors quote; a value
 * out of range exits 2 naming the option, the value and the range; unknown,
 * incomplete and missing options exit 2.  Nothing here gets past parsing,
 * so no host is needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

struct run {
	int status; /* exit status, or 128 + signal */
	char out[16384], err[4096];
};

static void read_all(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Run `stagenet args...` (args NULL-terminated, at most 16). */
static void run(struct run *r, const char *const *args)
{
	const char *exe = getenv("SN_STAGENET");
	char *argv[18];
	FILE *out = tmpfile(), *err = tmpfile();
	pid_t pid;
	int st, n = 0;

	assert_non_null(exe);
	assert_non_null(out);
	assert_non_null(err);
	argv[n++] = (char *)exe;
	for (; args[n - 1] && n < 17; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		execv(exe, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	read_all(out, r->out, sizeof(r->out));
	read_all(err, r->err, sizeof(r->err));
}

static void expect(const struct run *r, const char *const *args, int status,
		   const char *in_out, const char *in_err)
{
	char cmd[512] = "stagenet";

	for (const char *const *a = args; *a; a++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s", *a);
	if (r->status != status || (in_out && !strstr(r->out, in_out)) ||
	    (in_err && !strstr(r->err, in_err)))
		fail_msg("`%s`: exit %d (want %d)\nwant on stdout: %s\nwant on stderr: %s\n"
			 "--- stdout\n%s--- stderr\n%s", cmd, r->status, status,
			 in_out ? in_out : "-", in_err ? in_err : "-", r->out, r->err);
}

/* help2man reads the first line and the option list: "Usage:" first, and
 * argp's 79-column layout (no line longer than 80). */
static void assert_help_layout(const char *cmd, const char *text)
{
	char want[64];

	snprintf(want, sizeof(want), "Usage: stagenet%s%s", *cmd ? " " : "", cmd);
	assert_memory_equal(text, want, strlen(want));
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len > 80)
			fail_msg("stagenet %s --help: line longer than 80: %.*s", cmd, (int)len, l);
		l += len + (nl ? 1 : 0);
	}
}

/* One run's output at a time; static so a failing assertion (which
 * longjmps out) leaks nothing. */
static struct run R;

static const char *const subcommands[] = {
	"host", "front", "back", "vif-add", "vif-del", "probe", "stats", "bench", "wire",
};

static void help_version_unknown_for_every_subcommand(void **state)
{
	struct run *r = &R;

	(void)state;
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		const char *c = subcommands[i];
		const char *help[] = { c, "--help", NULL }, *h[] = { c, "-h", NULL };
		const char *ver[] = { c, "--version", NULL }, *use[] = { c, "--usage", NULL };
		const char *bogus[] = { c, "--bogus", NULL };
		char usage[64], unknown[64];

		snprintf(usage, sizeof(usage), "Usage: stagenet %s", c);
		snprintf(unknown, sizeof(unknown), "stagenet %s: unrecognized option '--bogus'", c);
		run(r, help);
		expect(r, help, 0, usage, NULL);
		assert_help_layout(c, r->out);
		assert_non_null(strstr(r->out, "--help"));
		run(r, h);
		expect(r, h, 0, usage, NULL);
		run(r, ver);
		expect(r, ver, 0, "stagenet ", NULL);
		run(r, use);
		expect(r, use, 0, usage, NULL);
		run(r, bogus);
		expect(r, bogus, 2, NULL, unknown);
	}
}

static void top_level(void **state)
{
	struct run *r = &R;
	const char *none[] = { NULL }, *help[] = { "--help", NULL }, *hword[] = { "help", NULL };
	const char *ver[] = { "--version", NULL }, *bogus[] = { "bogus", NULL };
	const char *bad_opt[] = { "--bogus", NULL };

	(void)state;
	run(r, help);
	expect(r, help, 0, "Usage: stagenet", NULL);
	assert_help_layout("", r->out);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "\n  %s ", subcommands[i]);
		assert_non_null(strstr(r->out, line));
	}
	run(r, hword);
	expect(r, hword, 0, "Usage: stagenet", NULL);
	run(r, ver);
	expect(r, ver, 0, "stagenet ", NULL);
	assert_memory_equal(r->out, "stagenet ", 9);
	run(r, none);
	expect(r, none, 2, NULL, "Usage: stagenet");
	run(r, bogus);
	expect(r, bogus, 2, NULL, "stagenet: unknown subcommand 'bogus'");
	run(r, bad_opt);
	expect(r, bad_opt, 2, NULL, "unrecognized option '--bogus'");
}

/* A value out of range: exit 2, and the message names the option, the
 * value and the range, which --help shows too ("[lo..hi]" after the text),
 * both read from the same table entry. */
struct range_row {
	const char *args[12];
	const char *option, *value, *range;
};

static const struct range_row range_rows[] = {
	{ { "front", "--devid", "0", "--port", "sink", "--queues", "99" }, "--queues", "99", "1..16" },
	{ { "front", "--devid", "65536", "--port", "sink" }, "--devid", "65536", "0..65535" },
	{ { "front", "--devid", "0", "--port", "sink", "--linger-ms", "-1" }, "--linger-ms", "-1",
	  "0..86400000" },
	{ { "front", "--devid", "0", "--port", "sink", "--connect-timeout", "x" },
	  "--connect-timeout", "x", "0..86400000" },
	{ { "front", "--devid", "0", "--port", "sink", "--staging-pages", "65537" },
	  "--staging-pages", "65537", "0..65536" },
	{ { "front", "--devid", "0", "--port", "sink", "--domid", "32752" }, "--domid", "32752",
	  "0..32751" },
	{ { "back", "--max-queues", "0" }, "--max-queues", "0", "1..16" },
	{ { "back", "--rx-queue-pkts", "65537" }, "--rx-queue-pkts", "65537", "1..65536" },
	{ { "back", "--rx-queue-bytes", "1024" }, "--rx-queue-bytes", "1024", "65536..1073741824" },
	{ { "back", "--staging-max", "65537" }, "--staging-max", "65537", "0..65536" },
	{ { "back", "--domid", "-1" }, "--domid", "-1", "0..32751" },
	{ { "probe", "--iters", "0" }, "--iters", "0", "1..100000000" },
	{ { "vif-add", "--domid", "0", "--devid", "0" }, "--domid", "0", "1..32751" },
	{ { "vif-add", "--domid", "9", "--devid", "0", "--queues", "17" }, "--queues", "17", "1..16" },
	{ { "vif-add", "--domid", "9", "--devid", "0", "--mtu", "67" }, "--mtu", "67", "68..65535" },
	{ { "vif-del", "--domid", "9", "--devid", "0", "--timeout-ms", "600001" }, "--timeout-ms",
	  "600001", "0..600000" },
	{ { "vif-del", "--domid", "9", "--devid", "0", "--backend-domid", "40000" },
	  "--backend-domid", "40000", "0..32751" },
	{ { "stats", "--rate", "0.05", "back-1-0" }, "--rate", "0.05", "0.1..3600" },
	{ { "bench", "--duration", "0" }, "--duration", "0", "0.01..3600" },
	{ { "bench", "--warmup", "3601" }, "--warmup", "3601", "0..3600" },
	{ { "bench", "--reps", "65" }, "--reps", "65", "1..64" },
	{ { "bench", "--frames", "60,59" }, "--frames", "59", "60..65535" },
	{ { "bench", "--queues", "1,17" }, "--queues", "17", "1..16" },
};

static void range_errors_name_option_value_and_range(void **state)
{
	struct run *r = &R;

	(void)state;
	for (size_t i = 0; i < sizeof(range_rows) / sizeof(range_rows[0]); i++) {
		const struct range_row *row = &range_rows[i];
		const char *help[] = { row->args[0], "--help", NULL };
		char msg[160], shown[64];

		snprintf(msg, sizeof(msg), "stagenet %s: bad value for %s: '%s' (", row->args[0],
			 row->option, row->value);
		run(r, row->args);
		expect(r, row->args, 2, NULL, msg);
		expect(r, row->args, 2, NULL, row->range);
		snprintf(shown, sizeof(shown), "[%s]", row->range);
		run(r, help);
		expect(r, help, 0, shown, NULL);
	}
}

/* Other usage errors: exit 2 with the reason. */
struct usage_row {
	const char *args[12];
	const char *in_err;
};

static const struct usage_row usage_rows[] = {
	{ { "front", "--devid", "0", "--port", "sink", "--staging", "full" },
	  "bad value for --staging: 'full' (must be page, header, persist or off)" },
	{ { "front", "--port", "sink" }, "--devid is required" },
	{ { "front", "--devid", "0" }, "--port is required" },
	{ { "front", "--platform", "emu", "--devid", "0", "--port", "sink" },
	  "--domid is required on the emulated host" },
	{ { "front", "--platform", "kvm" }, "bad value for --platform: 'kvm' (must be emu, xen or auto)" },
	{ { "front", "--devid" }, "option '--devid' requires an argument" },
	{ { "back", "--tx-path", "fast" }, "bad value for --tx-path: 'fast' (must be copy or linux)" },
	{ { "back", "--port", "" }, "bad value for --port: ''" },
	{ { "host", "--dir", "" }, "bad value for --dir: ''" },
	{ { "host", "--pidfile" }, "requires an argument" },
	{ { "vif-add", "--domid", "9" }, "--devid is required" },
	{ { "vif-add", "--devid", "0" }, "--domid is required" },
	{ { "vif-add", "--domid", "9", "--devid", "0", "--mac", "zz" },
	  "bad value for --mac: 'zz' (must be xx:xx:xx:xx:xx:xx)" },
	{ { "vif-add", "--domid", "9", "--devid", "0", "--rate", "5" },
	  "bad value for --rate: '5' (must be BYTES,USEC)" },
	{ { "vif-add", "--domid", "4", "--devid", "0", "--backend-domid", "4" },
	  "a domain cannot be its own backend" },
	{ { "vif-del", "--domid", "9", "--devid", "0", "--mac", "00:16:3e:00:00:01" },
	  "unrecognized option '--mac'" },
	{ { "stats", "--rate", "0.5" }, "--rate needs ROLE-DOMID-DEVID" },
	{ { "stats", "back-1-0", "back-1-1" }, "unexpected argument 'back-1-1'" },
	{ { "bench", "--modes", "copy,fast" }, "bad value for --modes: 'fast' (each must be copy, linux, staging, persist, persist-c1 or persist-c10)" },
	{ { "bench", "--dirs", "tx,rx,tx" }, "bad value for --dirs: 'tx,rx,tx' (at most 2 entries)" },
	{ { "bench", "--staging-policy", "all" }, "bad value for --staging-policy: 'all' (must be page or header)" },
	{ { "wire", "x" }, "unexpected argument 'x'" },
	{ { "probe", "--iters" }, "requires an argument" },
};

static void usage_errors_exit_2(void **state)
{
	struct run *r = &R;

	(void)state;
	for (size_t i = 0; i < sizeof(usage_rows) / sizeof(usage_rows[0]); i++) {
		run(r, usage_rows[i].args);
		expect(r, usage_rows[i].args, 2, NULL, usage_rows[i].in_err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(top_level),
		cmocka_unit_test(help_version_unknown_for_every_subcommand),
		cmocka_unit_test(range_errors_name_option_value_and_range),
		cmocka_unit_test(usage_errors_exit_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
