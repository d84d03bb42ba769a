# s6net: one GNU Makefile for the whole suite.
# Sources are discovered: lib/<area>/*.c make libs6net, src/<area>/<prog>.c
# make one program each, tests/unit/test_*.c one unit test each,
# fuzz/fuzz_*.c one libFuzzer harness each.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=
VERSION    := 0.1.0

B      ?= build
CC     ?= cc
CLANG  ?= clang
# Debian's python3-pytest lives in /usr/bin/python3, not in any pyenv.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
PYTEST ?= $(PYTHON) -m pytest

WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wsign-compare -Wformat=2
ifeq ($(CI),true)
WARN += -Werror
endif
ifdef WERROR
WARN += -Werror
endif

CFLAGS   ?= -O2 -g
PKGS     := openssl libcares libcdb
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lcares -lcdb)
ALL_CPPFLAGS := -Iinclude -Ilib -D_GNU_SOURCE -DS6NET_BINDIR='"$(BINDIR)"' $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   := -std=c11 $(WARN) $(CFLAGS)
# --as-needed: a program that uses no OpenSSL does not pay for loading it.
ALL_LDFLAGS  := -Wl,--as-needed $(LDFLAGS)
LDLIBS_ALL   := $(PKG_LIBS) $(LDLIBS)

LIB_SRC   := $(sort $(wildcard lib/*/*.c))
PROG_SRC  := $(sort $(wildcard src/*/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))
SHIM_SRC  := $(sort $(wildcard tests/helpers/shim_*.c))
TOOL_SRC  := $(filter-out $(SHIM_SRC),$(sort $(wildcard tests/helpers/*.c)))
MAN_SRC   := $(sort $(wildcard doc/*.[1-8]))

LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
PROGS     := $(notdir $(PROG_SRC:.c=))
PROG_BIN  := $(addprefix $(B)/bin/,$(PROGS))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
REPLAY_BIN := $(FUZZ_SRC:fuzz/fuzz_%.c=$(B)/fuzz/replay_%)
HELPER_BIN := $(TOOL_SRC:tests/helpers/%.c=$(B)/helpers/%) $(SHIM_SRC:tests/helpers/%.c=$(B)/helpers/%.so)
STATIC_LIB := $(B)/lib/libs6net.a
SHARED_LIB := $(B)/lib/libs6net.so.$(VERSION)

.PHONY: all deps deps-build check check-exports unit integration fuzz-replay lint sanitize sanitize-address \
        sanitize-undefined fuzz bench demo \
        install install-static uninstall clean stress stress-smoke static print-s6-names
.DEFAULT_GOAL := all

all: $(PROG_BIN) $(STATIC_LIB) $(SHARED_LIB) $(B)/lib/libs6net.pc $(HELPER_BIN)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# The shared library exports the public API only: the functions declared
# in include/s6net/*.h, listed in the version script LIB_MAP. It is linked
# from the static archive with those functions as the roots (-u), so it
# holds only the modules they need, and links only the libraries those
# modules use (LIB_REQUIRES, pkg-config names, also written into
# libs6net.pc; none today). -z defs makes a missing one a link error.
# make check-exports compares the exports with the headers.
LIB_MAP      := lib/libs6net.map
LIB_EXPORTS  := $(shell sed -n 's/^[[:space:]]*\(s6net_[A-Za-z0-9_]*\);.*/\1/p' $(LIB_MAP))
LIB_REQUIRES :=
LIB_REQUIRES_LIBS := $(if $(LIB_REQUIRES),$(shell pkg-config --libs $(LIB_REQUIRES)))
comma := ,
# the sanitizer runtimes leave their symbols undefined in a shared object
LIB_ZDEFS := $(if $(S6NET_SANITIZE),,-Wl$(comma)-z$(comma)defs)

$(SHARED_LIB): $(STATIC_LIB) $(LIB_MAP)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libs6net.so.0 $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIB_ZDEFS) \
	  -Wl,--version-script=$(LIB_MAP) $(addprefix -Wl$(comma)-u$(comma),$(LIB_EXPORTS)) \
	  -o $@ $(STATIC_LIB) $(LIB_REQUIRES_LIBS)
	ln -sf libs6net.so.$(VERSION) $(B)/lib/libs6net.so.0
	ln -sf libs6net.so.$(VERSION) $(B)/lib/libs6net.so

$(B)/lib/libs6net.pc: tools/libs6net.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@REQUIRES@|$(LIB_REQUIRES)|g' -e '/^Requires.private: *$$/d' $< > $@

# A sanitizer build (make sanitize) builds every program with $(CC): the
# sanitizer runtimes need glibc (see MUSL_PROGS below). The AddressSanitizer
# build (S6NET_SANITIZE=1) also links them all dynamically, as its runtime
# needs the dynamic loader; the UBSan build (S6NET_SANITIZE=undefined) links
# the daemons and engines statically, as shipped (see STATIC_DAEMONS and
# STATIC_OPENSSL).
ifneq ($(S6NET_SANITIZE),)
MUSL_PROGS :=
ifneq ($(S6NET_SANITIZE),undefined)
STATIC_DAEMONS :=
STATIC_OPENSSL :=
endif
endif

# The long-lived super-servers are linked statically against the C library
# (they use nothing from NSS): a static binary keeps resident only the pages
# it uses, about half the idle RSS of the dynamically linked build
# (bench/tcpserver/run.sh reports the idle RSS of each build).
# STATIC_DAEMONS= (empty) links them like the rest, and so does a sanitizer
# build or a C library without a static archive (-static-pie fails).
STATIC_DAEMONS ?= s6-tcpserverd s6-ipcserverd
ifneq ($(STATIC_DAEMONS),)
ifneq ($(shell printf 'int main(void){return 0;}\n' | $(CC) -x c - -static-pie -o /dev/null 2>/dev/null && echo yes),yes)
STATIC_DAEMONS :=
endif
endif

# The TLS engines are linked statically against OpenSSL (and glibc) when
# the static archives exist: the zygote forks one engine per connection,
# and a static engine has a third of the mappings, no PLT to resolve and
# its code packed together, so a worker takes fewer page faults and an
# engine process is quicker to fork, start and tear down (about 15-20%
# less CPU per handshake, s6-tlsd-io(1)). The price: an OpenSSL
# security update reaches the engines only when they are rebuilt.
# STATIC_OPENSSL= (empty) links them against the shared libraries, which a
# distribution that ships OpenSSL updates separately will want.
STATIC_OPENSSL ?= s6-tlsd-io s6-tlsc-io
# HUGE_TEXT: the statically linked engines whose code segment starts on
# a 2 MiB boundary, with nothing mapped up to the next one, so that the
# zygote can hold it in huge pages its workers share (lib/core/hugetext.h):
# about a fifth less CPU per TLS connection (s6-tlsd-io(1)). Only the
# server engine forks from a zygote. The file grows by 3 MB of alignment
# padding, never read; HUGE_TEXT= (empty) links it without.
HUGE_TEXT ?= s6-tlsd-io
HUGE_TEXT_LDFLAGS := -Wl,-z,max-page-size=0x200000 -Wl,-z,separate-code
OPENSSL_STATIC_LIBS := $(shell pkg-config --static --libs libssl libcrypto 2>/dev/null || echo -lssl -lcrypto -ldl -pthread)
ifneq ($(STATIC_OPENSSL),)
ifneq ($(shell printf '#include <openssl/ssl.h>\nint main(void){return !SSL_CTX_new(TLS_method());}\n' | $(CC) $(PKG_CFLAGS) -x c - -static-pie -o /dev/null $(OPENSSL_STATIC_LIBS) 2>/dev/null && echo yes),yes)
STATIC_OPENSSL :=
endif
endif

# The programs that run once per connection and need only the C library
# are built static with musl when musl-gcc is installed: a musl-static
# program is spawned and reaped about 2.5 times as fast as a glibc one
# (glibc's start-up runs many CPUID instructions, which trap in a virtual
# machine; tools/static.sh says how to measure it).
# MUSL_PROGS= builds them with $(CC) like the rest; so does a sanitizer
# build. (make static builds every program it can this way, elsewhere.)
MUSL_CC    ?= musl-gcc
MUSL_PROGS ?= s6-tlsd s6-tlsc s6-ucspitlsd s6-ucspitlsc proxy-server s6-tcpserver-access s6-ipcserver-access
ifeq ($(shell command -v $(MUSL_CC) 2>/dev/null),)
MUSL_PROGS :=
endif
MUSL_CFLAGS := -std=c11 -O2 -g -D_GNU_SOURCE -Iinclude -Ilib -DS6NET_BINDIR='"$(BINDIR)"'

# The musl library holds the modules the MUSL_PROGS need, listed here:
# every one must build against musl's headers, and a compile error stops
# the build. A program added to MUSL_PROGS may need more of them (its link
# then fails on undefined s6net_* symbols).
MUSL_LIB     := $(B)/musl/libs6net.a
MUSL_LIB_SRC := lib/access/accessrules.c lib/access/accessvalue.c lib/access/cdbread.c \
                lib/access/envdir.c lib/access/tcpaccess.c \
                lib/core/addr.c lib/core/deadline.c lib/core/diag.c lib/core/env.c lib/core/exec.c \
                lib/core/fd.c lib/core/num.c lib/core/opt.c lib/core/spawn.c lib/core/tai.c \
                lib/proxy/crc32c.c lib/proxy/proxy_parse.c \
                lib/tls/tls_cmdline.c lib/tls/tls_wrapper.c lib/tls/tls_zygote_msg.c lib/tls/tlsopt.c \
                lib/tls/ucspitls.c
# make static (tools/static.sh) builds every program it can with musl, from
# every module but those that include OpenSSL, c-ares or tinycdb headers,
# which musl does not have.
MUSL_ALL_LIB  := $(B)/musl/libs6net-all.a
MUSL_GLIBC_ONLY := lib/dns/dns.c lib/tls/tls_openssl_ctx.c lib/tls/tls_openssl_session.c lib/tls/tls_ticket.c
MUSL_ALL_SRC  := $(filter-out $(MUSL_GLIBC_ONLY),$(LIB_SRC))

$(B)/musl/obj/%.o: %.c
	@mkdir -p $(@D)
	$(MUSL_CC) $(MUSL_CFLAGS) -MMD -MP -c -o $@ $<

$(MUSL_LIB): $(MUSL_LIB_SRC:%.c=$(B)/musl/obj/%.o)
	@echo "$(MUSL_CC): musl library modules: $(notdir $(^:.o=))"
	@rm -f $@
	$(AR) rcs $@ $^

$(MUSL_ALL_LIB): $(MUSL_ALL_SRC:%.c=$(B)/musl/obj/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

# What a program links besides libs6net.a, by the lists above.
prog_libs = $(if $(filter $(1),$(STATIC_DAEMONS)),-static-pie,$(if $(filter $(1),$(STATIC_OPENSSL)),-static-pie $(if $(filter $(1),$(HUGE_TEXT)),$(HUGE_TEXT_LDFLAGS)) $(OPENSSL_STATIC_LIBS),$(LDLIBS_ALL)))

# One program per source file, linked against the static library.
define prog_rule
ifneq ($(filter $(notdir $(1:.c=)),$(MUSL_PROGS)),)
$(B)/bin/$(notdir $(1:.c=)): $(1) $(MUSL_LIB)
	@mkdir -p $$(@D)
	$(MUSL_CC) $(MUSL_CFLAGS) -static -o $$@ $$< $(MUSL_LIB)
else
$(B)/bin/$(notdir $(1:.c=)): $(B)/obj/$(1:.c=.o) $(STATIC_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) $$(ALL_LDFLAGS) -o $$@ $$< $(STATIC_LIB) $$(call prog_libs,$(notdir $(1:.c=)))
endif
endef
$(foreach s,$(PROG_SRC),$(eval $(call prog_rule,$(s))))

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(STATIC_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATIC_LIB) -lcmocka $(LDLIBS_ALL)

# Test helpers: small peers (executables) and LD_PRELOAD shims (shim_*.so).
$(B)/helpers/%.so: $(B)/obj/tests/helpers/%.o
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< -ldl

$(B)/helpers/%: $(B)/obj/tests/helpers/%.o $(STATIC_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATIC_LIB) $(LDLIBS_ALL)

# Fuzz harnesses built with the normal compiler and a replay main(): the
# corpora and saved crash inputs are re-run by make check.
$(B)/fuzz/replay_%: $(B)/obj/fuzz/fuzz_%.o $(B)/obj/fuzz/replay.o $(STATIC_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(B)/obj/fuzz/replay.o: fuzz/replay.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B)/obj $(B)/musl -name '*.d' 2>/dev/null)

# ---- dependencies ---------------------------------------------------------
# Debian packages, installed when missing (as root; otherwise the
# apt-get command is printed): the build set for make demo, the build and
# test sets for make check. tools/install-deps.sh bench fuzz adds the rest.
deps:
	@sh tools/install-deps.sh --ensure build test

deps-build:
	@sh tools/install-deps.sh --ensure build

# ---- tests ---------------------------------------------------------------
# make check ends with a bounded run of the stress campaign
# (STRESS_SMOKE_CONNS connections through s6-tcpserver; STRESS_SMOKE_CONNS=0
# leaves it out); make stress is the full campaign.
STRESS_SMOKE_CONNS ?= 10000
# TLS handshakes in the bounded run: fewer under AddressSanitizer, where an
# engine process costs ten times as much to start.
STRESS_SMOKE_TLS ?= $(if $(filter 1,$(S6NET_SANITIZE)),100,500)
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(REPLAY_BIN)
	@$(MAKE) --no-print-directory check-exports unit fuzz-replay integration
	@$(MAKE) --no-print-directory stress-smoke

# The shared library's dynamic symbols against the public headers.
check-exports: $(SHARED_LIB)
	@$(PYTHON) tools/check-exports.py $(SHARED_LIB) $(PUBLIC_HEADERS)

unit: $(UNIT_BIN)
	@sh tools/run-unit.sh $(UNIT_BIN)

fuzz-replay: $(REPLAY_BIN)
	@sh tools/run-replay.sh $(REPLAY_BIN)

integration: all
	S6NET_BUILD="$(abspath $(B))" S6NET_SANITIZE="$(S6NET_SANITIZE)" $(PYTEST) -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

lint: deps
	@sh tools/lint.sh $(MAN_SRC)

# make sanitize: make check again under two checkers, one after the other
# (tests/README.md says which covers which path).
# - sanitize-address: AddressSanitizer, LeakSanitizer and UBSan. ASan
#   cannot follow a child that shares our memory (clone(CLONE_VM)) and runs
#   raw system calls on our thread pointer, so in this build the servers
#   spawn with vfork and keep no acceptors (lib/server).
# - sanitize-undefined: UBSan alone, which has no shadow memory and no
#   interceptors: the build keeps what ships (the clone child, the
#   acceptors and their futex lock, the signalfd loop, the static daemons
#   and engines), and tests/integration/test_checkers.py fails if it does
#   not.
# In both, every report of every process, whatever became of its stderr,
# goes to a directory that tools/checked.sh empties into the output, and
# any report fails the run. In the UBSan build the dynamically linked
# programs carry the UBSan runtime statically (-static-libubsan, in LDLIBS
# so that the static-pie links do not see it): they then load no
# libstdc++, and need about the address space of a plain build
# (test_hardening_faults.py).
SAN_ADDRESS_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined
SAN_UNDEFINED_FLAGS := -fsanitize=undefined,float-cast-overflow -fno-sanitize-recover=all
sanitize: deps
	@$(MAKE) --no-print-directory sanitize-address
	@$(MAKE) --no-print-directory sanitize-undefined

sanitize-address: deps
	@sh tools/checked.sh address $(MAKE) --no-print-directory B=build-san \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer $(SAN_ADDRESS_FLAGS)" LDFLAGS="$(SAN_ADDRESS_FLAGS)" S6NET_SANITIZE=1 check

sanitize-undefined: deps
	@sh tools/checked.sh undefined $(MAKE) --no-print-directory B=build-ubsan \
	  CFLAGS="-O2 -g -fno-omit-frame-pointer $(SAN_UNDEFINED_FLAGS)" \
	  LDFLAGS="$(SAN_UNDEFINED_FLAGS)" LDLIBS=-static-libubsan S6NET_SANITIZE=undefined check

fuzz:
	@sh tools/fuzz.sh $(FUZZ_SECONDS)

bench: all
	@sh bench/run.sh

stress: all
	@B="$(B)" PYTHON="$(PYTHON)" S6NET_SANITIZE="$(S6NET_SANITIZE)" sh tools/stress.sh

stress-smoke: all
ifneq ($(STRESS_SMOKE_CONNS),0)
	@B="$(B)" PYTHON="$(PYTHON)" S6NET_SANITIZE="$(S6NET_SANITIZE)" S6NET_STRESS_CONNS=$(STRESS_SMOKE_CONNS) \
	  S6NET_STRESS_TLS=$(STRESS_SMOKE_TLS) S6NET_STRESS_LIMIT=600 sh tools/stress.sh
endif

static:
	@sh tools/static.sh

install-static: static
	$(MAKE) install BINSRC=build-static/bin

demo: deps-build
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh "$(abspath $(B))"

# ---- install ---------------------------------------------------------------
# The programs whose names Debian's s6 package also installs (dpkg -L s6);
# the one list that install and uninstall honour. With WITHOUT_S6_NAMES=1
# (WITHOUT_S6_IPC=1 is the older name) they go to PRIVDIR instead of
# BINDIR, where our chains look first (lib/core/exec.c keeps a copy of
# this list for that, and tests/integration/test_install.py keeps the two
# equal), and their man pages are not installed: Debian's files with
# those names stay as they are, and uninstall removes only what install
# put there (the manifest).
S6_NAMES := s6-accessrules-cdb-from-fs s6-accessrules-fs-from-cdb s6-applyuidgid s6-envuidgid \
            s6-ipcclient s6-ipcserver s6-ipcserver-access s6-ipcserver-socketbinder s6-ipcserverd \
            s6-sudo s6-sudoc s6-sudod
ifeq ($(WITHOUT_S6_IPC),1)
WITHOUT_S6_NAMES ?= 1
endif
INSTALL_SKIP := $(if $(filter 1,$(WITHOUT_S6_NAMES)),$(filter $(S6_NAMES),$(PROGS)))
# Fixed relative to BINDIR: the programs find it from their own directory.
PRIVDIR := $(abspath $(BINDIR)/../libexec/s6net)
DATADIR ?= $(PREFIX)/share
PUBLIC_HEADERS := $(wildcard include/s6net/*.h)
# make install-static: the musl-static programs where possible (make static).
BINSRC ?= $(B)/bin
INSTALL_ENV = DESTDIR='$(DESTDIR)' BINDIR='$(BINDIR)' PRIVDIR='$(PRIVDIR)' LIBDIR='$(LIBDIR)' \
  INCLUDEDIR='$(INCLUDEDIR)' MANDIR='$(MANDIR)' PKGCONFIGDIR='$(PKGCONFIGDIR)' DATADIR='$(DATADIR)' \
  PREFIX='$(PREFIX)' VERSION='$(VERSION)' BINSRC='$(BINSRC)' STATIC_LIB='$(STATIC_LIB)' \
  SHARED_LIB='$(SHARED_LIB)' PROGS='$(PROGS)' HEADERS='$(PUBLIC_HEADERS)' MANS='$(MAN_SRC)' \
  SKIP='$(INSTALL_SKIP)' REQUIRES='$(LIB_REQUIRES)'

install: all
	@$(INSTALL_ENV) sh tools/install.sh install

uninstall:
	@$(INSTALL_ENV) sh tools/install.sh uninstall

# The list above, for tests and packagers.
print-s6-names:
	@echo $(S6_NAMES)

clean:
	rm -rf $(B) build-san build-ubsan build-fuzz build-static
