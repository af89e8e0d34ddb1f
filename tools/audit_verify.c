/*-------------------------------------------------------------------------
 *
 * audit_verify.c
 *	  audit_verify, the offline verifier of audit_ext: options and modes.
 *
 *	  audit_verify [--checkpoint FILE]... [--public-key PEM]... "CONNINFO"
 *	  audit_verify --source NAME [OPTION]... "HUB CONNINFO"
 *	  audit_verify --export DIR "CONNINFO"
 *	  audit_verify --bundle DIR [--checkpoint FILE]... [--public-key PEM]...
 *	  audit_verify --proof FILE [--checkpoint FILE]... [--public-key PEM]...
 *
 * Exit status: 0 when everything holds, 1 when tampering was found, 2 for
 * a usage, connection, I/O or malformed-input error.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <getopt.h>

#include "av_checkpoint.h"
#include "av_key.h"
#include "av_modes.h"

#ifndef AV_VERSION
#define AV_VERSION "unknown"
#endif

#define DEFAULT_SORT_BUFFER		500000

typedef enum Mode
{
	MODE_NONE, MODE_LIVE, MODE_EXPORT, MODE_BUNDLE, MODE_PROOF
} Mode;

typedef struct Options
{
	Mode		mode;
	const char *target;			/* DIR or FILE of --export/--bundle/--proof */
	const char *conninfo;
	const char *source;			/* --source: a hub's source */
	int			sort_buffer;
	AvKeyring	keys;
	AvCheckpoints checkpoints;
} Options;

static void
usage(void)
{
	printf("audit_verify checks an audit_ext trail: every event, transaction digest,\n"
		   "block, chain link, signature, and that the trail extends saved checkpoints.\n\n"
		   "Usage:\n"
		   "  audit_verify [OPTION]... CONNINFO         verify a live database\n"
		   "  audit_verify --source NAME [OPTION]... CONNINFO\n"
		   "                                           verify source NAME's trail at a hub\n"
		   "  audit_verify --export DIR CONNINFO        write a bundle of the trail to DIR\n"
		   "  audit_verify --bundle DIR [OPTION]...     verify a bundle, no database needed\n"
		   "  audit_verify --proof FILE [OPTION]...     verify an inclusion or consistency proof\n\n"
		   "Options:\n"
		   "  -c, --checkpoint=FILE    a checkpoint saved from audit.digest() (an object, or an\n"
		   "                           array of them) that the trail must extend; repeatable\n"
		   "  -k, --public-key=PEM     Ed25519 public key (audit.public_key()) to check\n"
		   "                           signatures with; repeatable, e.g. across a key rotation\n"
		   "  -s, --source=NAME        read the trail of source NAME from a hub (audit_hub)\n"
		   "                           instead of a database's own trail (live, --export)\n"
		   "      --sort-buffer=N      events sorted in memory when verifying a bundle\n"
		   "                           (default %d); more go through temporary files\n"
		   "  -V, --version            print the version and exit\n"
		   "  -h, --help               show this help and exit\n\n"
		   "CONNINFO is a libpq connection string or URI, e.g. \"host=db dbname=app\"; the\n"
		   "role must be a superuser or a member of audit_reader.  A bundle's own\n"
		   "checkpoint.json is checked like a --checkpoint.\n\n"
		   "Output: one line per problem, \"PROBLEM: block B, txid X, event E: detail\", then\n"
		   "\"ok: ...\" or \"FAILED: N problems\".\n"
		   "Exit status: 0 all holds, 1 tampering found, 2 usage, connection, I/O or\n"
		   "malformed-input error.\n",
		   DEFAULT_SORT_BUFFER);
}

static void
pg_attribute_noreturn()
usage_error(const char *msg)
{
	fprintf(stderr, "audit_verify: %s\n", msg);
	fprintf(stderr, "Try \"audit_verify --help\" for more information.\n");
	exit(AV_EXIT_ERROR);
}

static void
set_mode(Options *o, Mode mode, const char *target)
{
	if (o->mode != MODE_NONE)
		usage_error("--export, --bundle and --proof exclude each other");
	o->mode = mode;
	o->target = target;
}

static int
parse_sort_buffer(const char *arg)
{
	int64		v;

	if (!av_parse_int64(arg, &v) || v < 2 || v > 100000000)
		usage_error("--sort-buffer must be a whole number from 2 to 100000000");
	return (int) v;
}

static void
parse_options(int argc, char **argv, Options *o)
{
	static const struct option long_options[] = {
		{"checkpoint", required_argument, NULL, 'c'},
		{"public-key", required_argument, NULL, 'k'},
		{"export", required_argument, NULL, 'e'},
		{"bundle", required_argument, NULL, 'b'},
		{"proof", required_argument, NULL, 'p'},
		{"source", required_argument, NULL, 's'},
		{"sort-buffer", required_argument, NULL, 1},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	int			c;

	while ((c = getopt_long(argc, argv, "c:k:e:b:p:s:hV", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				av_checkpoints_load(&o->checkpoints, optarg);
				break;
			case 'k':
				av_keyring_add(&o->keys, optarg);
				break;
			case 'e':
				set_mode(o, MODE_EXPORT, optarg);
				break;
			case 'b':
				set_mode(o, MODE_BUNDLE, optarg);
				break;
			case 'p':
				set_mode(o, MODE_PROOF, optarg);
				break;
			case 's':
				if (optarg[0] == '\0')
					usage_error("--source needs a source name");
				o->source = optarg;
				break;
			case 1:
				o->sort_buffer = parse_sort_buffer(optarg);
				break;
			case 'h':
				usage();
				exit(AV_EXIT_OK);
			case 'V':
				printf("audit_verify (audit_ext) %s\n", AV_VERSION);
				exit(AV_EXIT_OK);
			default:
				/* getopt_long has said what is wrong */
				fprintf(stderr, "Try \"audit_verify --help\" for more information.\n");
				exit(AV_EXIT_ERROR);
		}
	}
	if (optind < argc)
		o->conninfo = argv[optind++];
	if (optind < argc)
		usage_error(av_psprintf("too many arguments (the first extra one is \"%s\")",
								argv[optind]));
}

/* Which mode, and whether its arguments fit it. */
static void
check_mode(Options *o)
{
	if (o->mode == MODE_NONE)
		o->mode = MODE_LIVE;
	if ((o->mode == MODE_LIVE || o->mode == MODE_EXPORT) && o->conninfo == NULL)
		usage_error("no connection string given (use \"\" for the libpq defaults)");
	if ((o->mode == MODE_BUNDLE || o->mode == MODE_PROOF) && o->conninfo != NULL)
		usage_error("--bundle and --proof read no database: remove the connection string");
	if (o->mode == MODE_EXPORT && (o->keys.n > 0 || o->checkpoints.n > 0))
		usage_error("--export checks nothing: --checkpoint and --public-key do not apply");
	if (o->source != NULL && o->mode != MODE_LIVE && o->mode != MODE_EXPORT)
		usage_error("--source reads a hub: it goes with a connection string, not --bundle or --proof");
	if (o->target != NULL && o->target[0] == '\0')
		usage_error("the directory or file name is empty");
}

int
main(int argc, char **argv)
{
	Options		o;
	int			rc = AV_EXIT_ERROR;

	memset(&o, 0, sizeof(o));
	o.sort_buffer = DEFAULT_SORT_BUFFER;
	parse_options(argc, argv, &o);
	check_mode(&o);
	switch (o.mode)
	{
		case MODE_LIVE:
			rc = av_live_verify(o.conninfo, o.source, &o.keys, &o.checkpoints);
			break;
		case MODE_EXPORT:
			rc = av_export(o.conninfo, o.source, o.target);
			break;
		case MODE_BUNDLE:
			rc = av_bundle_verify(o.target, &o.keys, &o.checkpoints, o.sort_buffer);
			break;
		case MODE_PROOF:
			rc = av_proof_verify(o.target, &o.keys, &o.checkpoints);
			break;
		case MODE_NONE:
			break;
	}
	av_flush_output();
	return rc;
}
