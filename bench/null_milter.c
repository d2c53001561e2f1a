/*
 * null_milter.c - an accept-all milter for the benchmarks: the same
 * libmilter, the same callbacks registered, the same flags and the same
 * protocol options as sendguard's mlfi_negotiate, and no work at all.  The
 * ratio sendguard / null milter is therefore sendguard's own cost, with
 * libmilter's threads and the protocol round trips factored out.
 *
 *   null_milter -p SOCKET [-P EXTRA_PFLAGS]
 *
 * Like sendguard (with its default refuse_restricted_at = "data" and spam
 * checking off), it answers neither connect, MAIL FROM nor RCPT, accepts
 * the message at DATA (so the MTA neither sends its content nor waits at
 * its end), and names the same macros (smfi_setsymlist).  -P ORs extra
 * protocol flags (hex, e.g. 0x10000 for SMFIP_NR_DATA) into what it asks
 * for: for experiments such as the TCP stall in BENCHMARKS.md.
 * Runs in the foreground until SIGTERM/SIGINT (libmilter handles them).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* Keep in step with milter/mlfi.c: mlfi_negotiate (and set_macro_lists). */
#define NULL_WANT	(SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | \
	SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_MAIL | \
	SMFIP_NR_RCPT)

static unsigned long null_extra;	/* -P */
static unsigned long null_pflags;	/* what was agreed, for replies */

/* reply_for - SMFIS_NOREPLY where the MTA agreed not to wait */
static sfsistat
reply_for(unsigned long nr_flag)
{
	return (null_pflags & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return reply_for(SMFIP_NR_CONN);
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return reply_for(SMFIP_NR_MAIL);
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return reply_for(SMFIP_NR_RCPT);
}

static sfsistat
null_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = 0;
	*pf1 = (NULL_WANT | null_extra) & f1;
	if ((f0 & SMFIF_SETSYMLIST) != 0) {
		if (smfi_setsymlist(ctx, SMFIM_CONNECT, "v") != MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}") !=
		    MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i") != MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_DATA, "i") != MI_SUCCESS ||
		    smfi_setsymlist(ctx, SMFIM_EOM, "i") != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
		*pf0 = SMFIF_SETSYMLIST;
	}
	*pf2 = 0;
	*pf3 = 0;
	/* one value for every connection: the MTA offers the same each time */
	null_pflags = *pf1;
	return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
	.xxfi_name = "null_milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_NONE,
	.xxfi_connect = null_connect,
	.xxfi_envfrom = null_envfrom,
	.xxfi_envrcpt = null_envrcpt,
	.xxfi_data = null_data,
	.xxfi_eom = null_eom,
	.xxfi_abort = null_abort,
	.xxfi_close = null_close,
	.xxfi_negotiate = null_negotiate,
};

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	char *end;
	int ch;

	while ((ch = getopt(argc, argv, "p:P:")) != -1) {
		switch (ch) {
		case 'p':
			sock = optarg;
			break;
		case 'P':
			null_extra = strtoul(optarg, &end, 0);
			if (*end != '\0') {
				fprintf(stderr, "null_milter: -P %s: not a "
				    "number\n", optarg);
				return 64;
			}
			break;
		default:
			sock = NULL;
			optind = argc + 1;
		}
	}
	if (sock == NULL || optind != argc) {
		fprintf(stderr, "usage: null_milter -p SOCKET [-P PFLAGS]\n");
		return 64;
	}
	if (strncmp(sock, "unix:", 5) == 0)
		(void)unlink(sock + 5);
	if (smfi_setconn((char *)sock) != MI_SUCCESS ||
	    smfi_register(null_desc) != MI_SUCCESS ||
	    smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "null_milter: cannot listen on %s\n", sock);
		return 69;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
