/*-------------------------------------------------------------------------
 *
 * fuzz_av.c
 *	  Fuzz targets for audit_verify's readers of untrusted input: bundles,
 *	  proofs and saved checkpoints (test/fuzz/README.md).
 *
 * One source, three targets, chosen at build time with -DFUZZ_TARGET=:
 *
 *	  1  bundle      the input is a bundle's files, NUL-separated, in the
 *	                 order of bundle_files[]; a file left out is missing
 *	  2  proof       the input is a proof file; after a NUL, optionally, a
 *	                 saved checkpoint given as --checkpoint
 *	  3  checkpoint  the input is a --checkpoint file
 *
 * Built with clang -fsanitize=fuzzer,address it is a libFuzzer target.
 * Built with -DFUZZ_REPLAY (any compiler, e.g. gcc -fsanitize=address) it
 * has its own main(), which runs each file named on its command line (or
 * every file of each directory named) through the same target once.
 *
 * audit_verify ends on malformed input with exit(2) (av_fatal): that is
 * the expected answer, not a crash.  The harness is linked with
 * -Wl,--wrap=exit,--wrap=fopen,--wrap=fclose,--wrap=tmpfile, so that such
 * an exit inside a target jumps back here, and the files the tool opened
 * are closed on the way (memory it held is leaked, hence detect_leaks=0).
 * Any exit outside a target, and any other status, is a real exit.
 *
 * The public key the signatures are checked with is the file named by
 * AV_FUZZ_KEY, when set (test/fuzz/corpus/public_key.pem: the corpus was
 * made with its private key, so valid signatures are reached too).
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <dirent.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "av_checkpoint.h"
#include "av_key.h"
#include "av_modes.h"

#define FUZZ_BUNDLE		1
#define FUZZ_PROOF		2
#define FUZZ_CHECKPOINT	3

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=1 (bundle), 2 (proof) or 3 (checkpoint)"
#endif

#define MAX_OPEN_FILES	64

static char work_dir[1024];		/* private scratch directory */
static AvKeyring keys;
static jmp_buf on_exit_jump;
static bool in_target = false;
static FILE *open_files[MAX_OPEN_FILES];

extern void __real_exit(int status) pg_attribute_noreturn();
extern FILE *__real_fopen(const char *path, const char *mode);
extern int	__real_fclose(FILE *fp);
extern FILE *__real_tmpfile(void);
int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
remember_file(FILE *fp)
{
	for (int i = 0; fp != NULL && i < MAX_OPEN_FILES; i++)
		if (open_files[i] == NULL)
		{
			open_files[i] = fp;
			return;
		}
}

FILE *
__wrap_fopen(const char *path, const char *mode)
{
	FILE	   *fp = __real_fopen(path, mode);

	remember_file(fp);
	return fp;
}

FILE *
__wrap_tmpfile(void)
{
	FILE	   *fp = __real_tmpfile();

	remember_file(fp);
	return fp;
}

int
__wrap_fclose(FILE *fp)
{
	for (int i = 0; i < MAX_OPEN_FILES; i++)
		if (open_files[i] == fp)
			open_files[i] = NULL;
	return __real_fclose(fp);
}

/* exit(2) inside a target is its answer to malformed input: jump back. */
void
__wrap_exit(int status)
{
	if (in_target && status == AV_EXIT_ERROR)
		longjmp(on_exit_jump, 1);
	__real_exit(status);
}

static void
close_open_files(void)
{
	for (int i = 0; i < MAX_OPEN_FILES; i++)
		if (open_files[i] != NULL)
		{
			__real_fclose(open_files[i]);
			open_files[i] = NULL;
		}
}

static void
remove_work_dir(void)
{
	DIR		   *d = opendir(work_dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char		path[2048];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", work_dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(work_dir);
}

/* Write len bytes to work_dir/name. */
static void
put_file(const char *name, const uint8_t *data, size_t len)
{
	char		path[2048];
	FILE	   *fp;

	snprintf(path, sizeof(path), "%s/%s", work_dir, name);
	fp = __real_fopen(path, "wb");
	if (fp == NULL || (len > 0 && fwrite(data, 1, len, fp) != len) ||
		__real_fclose(fp) != 0)
	{
		fprintf(stderr, "fuzz_av: could not write %s\n", path);
		abort();
	}
}

/*
 * Split the input at NUL bytes into at most nfiles files named names[]; the
 * files after the last part are removed.  Returns how many were written.
 */
pg_attribute_unused()
static size_t
put_parts(const uint8_t *data, size_t size, const char *const *names,
		  size_t nfiles)
{
	size_t		n = 0;
	size_t		start = 0;

	for (size_t i = 0; i <= size && n < nfiles; i++)
		if (i == size || data[i] == '\0')
		{
			put_file(names[n++], data + start, i - start);
			start = i + 1;
			if (i == size)
				break;
		}
	for (size_t i = n; i < nfiles; i++)
	{
		char		path[2048];

		snprintf(path, sizeof(path), "%s/%s", work_dir, names[i]);
		unlink(path);
	}
	return n;
}

/* (the bundle target names its directory only) */
pg_attribute_unused()
static char *
work_path(const char *name)
{
	return av_psprintf("%s/%s", work_dir, name);
}

#if FUZZ_TARGET == FUZZ_BUNDLE

/* The files of a bundle, in the order the input gives them. */
static const char *const bundle_files[] = {
	"chain.json", "transactions.jsonl", "events.jsonl", "blocks.jsonl",
	"checkpoint.json", "archives.jsonl"
};

static void
run_target(const uint8_t *data, size_t size, AvCheckpoints *cps)
{
	put_parts(data, size, bundle_files, lengthof(bundle_files));
	(void) av_bundle_verify(work_dir, &keys, cps, 4);	/* tiny: sorts on disk */
	(void) av_checkpoints_check_signatures(cps, &keys);
}

#elif FUZZ_TARGET == FUZZ_PROOF

static void
run_target(const uint8_t *data, size_t size, AvCheckpoints *cps)
{
	static const char *const names[] = {"proof.json", "saved.json"};
	char	   *path;

	if (put_parts(data, size, names, 2) == 2)
	{
		path = work_path("saved.json");
		av_checkpoints_load(cps, path);
		free(path);
	}
	path = work_path("proof.json");
	(void) av_proof_verify(path, &keys, cps);
	free(path);
}

#else

static void
run_target(const uint8_t *data, size_t size, AvCheckpoints *cps)
{
	char	   *path = work_path("checkpoint.json");

	put_file("checkpoint.json", data, size);
	av_checkpoints_load(cps, path);
	(void) av_checkpoints_check_signatures(cps, &keys);
	free(path);
}

#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *key = getenv("AV_FUZZ_KEY");
	const char *tmp = getenv("TMPDIR");

	(void) argc;
	(void) argv;
	snprintf(work_dir, sizeof(work_dir), "%s/fuzz_av.XXXXXX",
			 tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(work_dir) == NULL)
	{
		perror("fuzz_av: mkdtemp");
		abort();
	}
	atexit(remove_work_dir);
	if (key != NULL && key[0] != '\0')
		av_keyring_add(&keys, key);
	/* audit_verify's verdicts go to standard output: keep the log short */
	if (getenv("AV_FUZZ_VERBOSE") == NULL && freopen("/dev/null", "w", stdout) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static AvCheckpoints cps;

	cps.items = NULL;
	cps.n = 0;
	in_target = true;
	if (setjmp(on_exit_jump) == 0)
		run_target(data, size, &cps);
	in_target = false;
	close_open_files();
	free(cps.items);
	return 0;
}

#ifdef FUZZ_REPLAY

static long replayed = 0;

static void
replay_file(const char *path)
{
	struct stat st;
	FILE	   *fp = __real_fopen(path, "rb");
	uint8_t    *buf;
	size_t		got;

	if (fp == NULL || fstat(fileno(fp), &st) != 0)
	{
		fprintf(stderr, "fuzz_av: cannot read %s\n", path);
		__real_exit(2);
	}
	buf = malloc((size_t) st.st_size + 1);
	got = fread(buf, 1, (size_t) st.st_size, fp);
	__real_fclose(fp);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	replayed++;
}

static void
replay_path(const char *path)
{
	struct stat st;
	DIR		   *d;
	struct dirent *de;

	if (stat(path, &st) != 0)
	{
		fprintf(stderr, "fuzz_av: no such file or directory: %s\n", path);
		__real_exit(2);
	}
	if (!S_ISDIR(st.st_mode))
	{
		replay_file(path);
		return;
	}
	d = opendir(path);
	while (d != NULL && (de = readdir(d)) != NULL)
	{
		char		sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			replay_file(sub);
	}
	if (d != NULL)
		closedir(d);
}

int
main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	fprintf(stderr, "fuzz_av: %ld inputs replayed, no crash\n", replayed);
	return 0;
}

#endif							/* FUZZ_REPLAY */
