# audit_ext — PGXS build.  pg_config is taken from PATH unless PG_CONFIG is set.

# Two extensions share this build: audit_ext itself, and audit_hub (the
# receiving end of a central hub: SQL only, sql/hub/, docs/HUB.md).
EXT        = audit_ext
EXTENSION  = $(EXT) audit_hub
MODULE_big = audit_ext
# Every C file under src/ is part of the module.
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The update scripts from 0.4 on are assembled from one file per concern
# (sql/<version>/NN_<concern>.sql, in name order): sql/0.4/ makes
# audit_ext--0.3--0.4.sql, sql/0.5/ audit_ext--0.4--0.5.sql, sql/0.6/
# audit_ext--0.5--0.6.sql, sql/0.7/ audit_ext--0.6--0.7.sql.
UPDATE_0_4 = sql/$(EXT)--0.3--0.4.sql
UPDATE_0_5 = sql/$(EXT)--0.4--0.5.sql
UPDATE_0_6 = sql/$(EXT)--0.5--0.6.sql
UPDATE_0_7 = sql/$(EXT)--0.6--0.7.sql
UPDATES = $(UPDATE_0_4) $(UPDATE_0_5) $(UPDATE_0_6) $(UPDATE_0_7)
DATA = $(filter-out $(UPDATES),$(wildcard sql/$(EXT)--*.sql)) \
	$(wildcard sql/hub/audit_hub--*.sql)
DATA_built = $(UPDATES)

# pg_regress inputs are every sql/*.sql that is not an extension script.
REGRESS = $(filter-out $(EXT)--%,$(basename $(notdir $(wildcard sql/*.sql))))

PG_CONFIG ?= pg_config

EXTRA_CLEAN = .cflags

# The server headers are included as system headers, so that building with
# -Wall -Wextra -Werror judges our code, not PostgreSQL's.
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
SHLIB_LINK = -lcrypto

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# An update script: a header, then each part of its directory in order.
define assemble_update
	( printf '%s\n' '-- Generated from sql/$(1)/*.sql by make: edit those.' \
	  '\echo Use "ALTER EXTENSION audit_ext UPDATE TO '"'"'$(1)'"'"'" to load this file. \quit'; \
	  for f in $(2); do printf '\n-- %s\n' "$$f"; cat "$$f"; done ) > $(3)
endef

$(UPDATE_0_4): $(sort $(wildcard sql/0.4/*.sql))
	$(call assemble_update,0.4,$^,$@)
$(UPDATE_0_5): $(sort $(wildcard sql/0.5/*.sql))
	$(call assemble_update,0.5,$^,$@)
$(UPDATE_0_6): $(sort $(wildcard sql/0.6/*.sql))
	$(call assemble_update,0.6,$^,$@)
$(UPDATE_0_7): $(sort $(wildcard sql/0.7/*.sql))
	$(call assemble_update,0.7,$^,$@)

# PGXS does not track header dependencies: every object depends on every
# header of ours, so a changed struct never links with stale objects.
$(OBJS) $(OBJS:.o=.bc): $(wildcard $(srcdir)/src/*.h)

# Nor does it track the compiler flags: .cflags keeps the last ones, and
# changes (so everything is rebuilt) when they change — test/run builds
# with assertions, bench/run without, in the same tree.
BUILD_FLAGS = $(CC) $(CFLAGS) $(CPPFLAGS)
.cflags: FORCE
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@
$(OBJS) $(OBJS:.o=.bc): .cflags
.PHONY: FORCE

# ---------------------------------------------------------------------------
# audit_verify: the offline verifier (tools/).  `make` builds it and `make
# install` installs it into $(bindir), with the extension.  src/hash.c,
# src/merkle.c and src/chain_format.c are compiled a second time with
# -DFRONTEND (tools/fe_*.o), so the server and the tool hash the same bytes.
# libpgport supplies what postgres_fe.h maps printf, qsort & co. to.
# ---------------------------------------------------------------------------

AV_PROGRAM = tools/audit_verify
AV_OBJS = $(patsubst %.c,%.o,$(sort $(wildcard tools/*.c)))
AV_FE_OBJS = tools/fe_hash.o tools/fe_merkle.o tools/fe_chain_format.o
AV_HEADERS = $(wildcard tools/*.h) src/hash.h src/merkle.h src/chain_format.h
AV_VERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXT).control)
AV_CPPFLAGS = -DFRONTEND -DAV_VERSION='"$(AV_VERSION)"' -Itools -Isrc \
	-isystem $(shell $(PG_CONFIG) --includedir-server) \
	-isystem $(shell $(PG_CONFIG) --includedir)
AV_LIBS = -L$(shell $(PG_CONFIG) --libdir) -lpq -ljson-c -lcrypto \
	-L$(shell $(PG_CONFIG) --pkglibdir) -lpgport

all: $(AV_PROGRAM)

# The version string comes from the control file.
$(AV_OBJS): $(EXT).control

$(AV_OBJS) $(AV_FE_OBJS): .cflags

$(AV_PROGRAM): $(AV_OBJS) $(AV_FE_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(AV_OBJS) $(AV_FE_OBJS) $(AV_LIBS)

tools/fe_%.o: src/%.c $(AV_HEADERS)
	$(CC) $(CFLAGS) $(AV_CPPFLAGS) -c -o $@ $<

tools/%.o: tools/%.c $(AV_HEADERS)
	$(CC) $(CFLAGS) $(AV_CPPFLAGS) -c -o $@ $<

install: install-audit-verify
install-audit-verify: $(AV_PROGRAM)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(AV_PROGRAM) '$(DESTDIR)$(bindir)/audit_verify'

uninstall: uninstall-audit-verify
uninstall-audit-verify:
	rm -f '$(DESTDIR)$(bindir)/audit_verify'

clean: clean-audit-verify
clean-audit-verify:
	rm -f $(AV_PROGRAM) tools/*.o

.PHONY: install-audit-verify uninstall-audit-verify clean-audit-verify

# The fuzz targets of audit_verify's readers (test/fuzz/README.md): build,
# replay the corpus, then fuzz each target FUZZ_SECONDS (default 60).
FUZZ_SECONDS ?= 60
fuzz:
	$(srcdir)/test/fuzz/run all $(FUZZ_SECONDS)

.PHONY: fuzz
