/*
 * chain_milter.c - a test milter that stands in for a spam filter in
 * front of sendguard (spamass-milter, rspamd's proxy): at end of message
 * it adds one header, inserted at the top (smfi_insheader index 0, as
 * spamass-milter and rspamd do) or appended below the others
 * (smfi_addheader), so that tests/e2e_spam.sh can check with a real
 * Postfix which header sendguard reads when the sender wrote one too.
 *
 *   chain_milter -p SOCKET -m insert|append -n NAME -v VALUE
 *
 * For tests only: no configuration, logs nothing, exits on SIGTERM.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static const char *mode = "insert", *hname, *hvalue;

/* chain_eom - add the header; never refuse anything */
static sfsistat
chain_eom(SMFICTX *ctx)
{
	int rc;

	if (strcmp(mode, "insert") == 0)
		rc = smfi_insheader(ctx, 0, (char *)hname, (char *)hvalue);
	else
		rc = smfi_addheader(ctx, (char *)hname, (char *)hvalue);
	if (rc != MI_SUCCESS)
		fprintf(stderr, "chain_milter: cannot add %s\n", hname);
	return SMFIS_CONTINUE;
}

static struct smfiDesc chain_desc = {
	.xxfi_name = "chain_milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS,
	.xxfi_eom = chain_eom,
};

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "p:m:n:v:")) != -1) {
		switch (ch) {
		case 'p':
			sock = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			hname = optarg;
			break;
		case 'v':
			hvalue = optarg;
			break;
		default:
			return 64;
		}
	}
	if (sock == NULL || hname == NULL || hvalue == NULL ||
	    (strcmp(mode, "insert") != 0 && strcmp(mode, "append") != 0)) {
		fprintf(stderr, "usage: chain_milter -p SOCKET -m insert|append "
		    "-n NAME -v VALUE\n");
		return 64;
	}
	if (smfi_setconn((char *)sock) != MI_SUCCESS ||
	    smfi_register(chain_desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "chain_milter: cannot listen on %s\n", sock);
		return 69;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
