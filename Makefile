# audit_ext — PGXS build.  pg_config is taken from PATH unless PG_CONFIG is set.

EXTENSION  = audit_ext
MODULE_big = audit_ext
OBJS = \
	src/audit_ext.o \
	src/capture_dml.o \
	src/capture_utility.o \
	src/chain_format.o \
	src/checkpoint.o \
	src/event.o \
	src/event_context.o \
	src/event_format.o \
	src/hash.o \
	src/merkle.o \
	src/merkle_sql.o \
	src/proof.o \
	src/proof_verify.o \
	src/schema.o \
	src/seal.o \
	src/seal_worker.o \
	src/shmem.o \
	src/sign.o \
	src/store.o \
	src/trail_sql.o \
	src/txn_digest.o \
	src/utility_object.o \
	src/verify.o

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# pg_regress inputs are every sql/*.sql that is not an extension script.
REGRESS = $(filter-out $(EXTENSION)--%,$(basename $(notdir $(wildcard sql/*.sql))))

PG_CONFIG ?= pg_config

# The server headers are included as system headers, so that building with
# -Wall -Wextra -Werror judges our code, not PostgreSQL's.
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
SHLIB_LINK = -lcrypto

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
