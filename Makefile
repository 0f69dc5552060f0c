# Shoal — top-level Makefile.
#
#   make            build build/shoal.elf and build/root.img
#   make run        install what is missing, build, boot a 4-node cluster, attach to node 0
#   make test       install what is missing, build, run every test
#   make qemu       boot one node directly (PVH + qboot), serial on this terminal
#   make qemu-gdb   the same, paused, with a GDB stub (see docs/debugging.md)
#   make unit       host unit tests only        make check-style / make format
#   make bench      benchmarks (tables, CSV, plots); make bench-fs, bench-user, bench-net,
#                   bench-link, bench-mig, bench-lb: the file system's, the processes',
#                   the network's, the Linker's, migration's, the load balancer's only
#   make lbsim      the load-balancing simulator's experiments (tables, CSV, plots
#                   in build/lbsim/); the simulator itself is build/tools/lbsim
#
# Options: V=1 shows commands; CROSS=x86_64-elf- selects another toolchain;
# KDEBUG=0 builds without the heap's debug checks; ACCEL=kvm for make qemu.

CROSS   ?=
CC      := $(CROSS)gcc
LD      := $(CROSS)ld
NM      := $(CROSS)nm
OBJCOPY := $(CROSS)objcopy
NASM    ?= nasm
HOSTCC  ?= gcc
PYTHON  ?= /usr/bin/python3
KDEBUG  ?= 1

B := build

ifeq ($(V),1)
Q :=
else
Q := @
endif

GCC_INC := $(shell $(CC) -print-file-name=include)

KCFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdinc -isystem $(GCC_INC) \
	-I. -Ikern/include -D_LIBC_LIMITS_H_ -DKDEBUG=$(KDEBUG) \
	-mcmodel=kernel -mno-red-zone -mgeneral-regs-only -mno-mmx -mno-sse \
	-fno-pic -fno-pie -fno-stack-protector -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
	-fno-strict-aliasing -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP
KASFLAGS := -f elf64 -g -F dwarf -I./
KLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T link.ld

KDIRS := arch/x86 kern vm fs net mosix
KCSRC := $(foreach d,$(KDIRS),$(wildcard $(d)/*.c))
KASRC := $(wildcard boot/*.asm) $(foreach d,$(KDIRS),$(wildcard $(d)/*.asm))
KOBJ  := $(patsubst %.c,$(B)/%.o,$(KCSRC)) $(patsubst %.asm,$(B)/%.o,$(KASRC))

all: $(B)/shoal.elf $(B)/root.img

# lwIP 2.1.3 (docs/network.md, "## lwIP"): tools/deps unpacks Debian's source
# into $(LWIP) and patches it; the stamp says the tree is there and current.
# Its files are compiled with the kernel's flags plus the port's include
# paths. lwIP 2.1.3 builds clean with them; should a patch or a newer gcc
# warn, -Wno- flags for lwIP's own files (never Shoal's) go in LWIP_WARN.
LWIP       := $(B)/lwip-2.1.3
LWIP_STAMP := $(B)/lwip.stamp
LWIP_INC   := -Inet/lwip -I$(LWIP)/src/include
LWIP_WARN  :=
LWIP_FILES := core/def.c core/inet_chksum.c core/init.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c \
	core/tcp.c core/tcp_in.c core/tcp_out.c core/timeouts.c core/udp.c \
	core/ipv4/dhcp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c \
	core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c netif/ethernet.c \
	api/api_lib.c api/api_msg.c api/err.c api/netbuf.c api/tcpip.c
LWIP_OBJ   := $(patsubst %.c,$(B)/lwip/%.o,$(LWIP_FILES))
LWIP_GLUE  := $(patsubst %.c,$(B)/%.o,$(wildcard net/lwip/*.c))
KOBJ       += $(LWIP_OBJ) $(LWIP_GLUE)

# The patches folder is a prerequisite so that removing a patch counts too.
$(LWIP_STAMP): net/lwip/SHA256SUMS net/lwip/patches $(wildcard net/lwip/patches/*.patch)
	$(Q)tools/deps lwip

# The sources appear with the stamp (explicit targets: a pattern here would
# let make chain its built-in rules through any name under $(LWIP)).
$(addprefix $(LWIP)/src/,$(LWIP_FILES)): $(LWIP_STAMP) ;

$(LWIP_OBJ): $(B)/lwip/%.o: $(LWIP)/src/%.c $(LWIP_STAMP) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      lwip/$*.c")
	$(Q)$(CC) $(KCFLAGS) $(LWIP_INC) $(LWIP_WARN) -c $< -o $@

$(LWIP_GLUE): $(B)/net/lwip/%.o: net/lwip/%.c $(LWIP_STAMP) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) $(LWIP_INC) -c $< -o $@

$(B)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

# NASM 2.16's -MD leaves %include files out of the list; -M alone has them.
$(B)/%.o: %.asm Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NASM    $<")
	$(Q)$(NASM) $(KASFLAGS) -M -MF $(B)/$*.d -MP -MT $@ $<
	$(Q)$(NASM) $(KASFLAGS) $< -o $@

# Two links: the first gives the addresses, the symbol table made from them
# goes into .ksyms (the last section, so nothing else moves) in the second.
$(B)/ksyms0.o: tools/mksyms Makefile
	@mkdir -p $(B)
	$(Q)tools/mksyms < /dev/null > $(B)/ksyms0.S
	$(Q)$(CC) -c $(B)/ksyms0.S -o $@

$(B)/shoal.pass1.elf: $(KOBJ) $(B)/ksyms0.o link.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(KOBJ) $(B)/ksyms0.o

$(B)/shoal.elf: $(B)/shoal.pass1.elf tools/mksyms
	@$(if $(Q),echo "  KSYMS   $@")
	$(Q)$(NM) -n --defined-only $< | tools/mksyms > $(B)/ksyms.S
	$(Q)$(CC) -c $(B)/ksyms.S -o $(B)/ksyms.o
	$(Q)$(LD) $(KLDFLAGS) -o $@.tmp $(KOBJ) $(B)/ksyms.o
	$(Q)$(NM) -n --defined-only $< | grep -i ' t ' > $(B)/syms.1
	$(Q)$(NM) -n --defined-only $@.tmp | grep -i ' t ' > $(B)/syms.2
	$(Q)cmp -s $(B)/syms.1 $(B)/syms.2 || { echo "shoal.elf: text moved between links" >&2; exit 1; }
	$(Q)mv $@.tmp $@
	@echo "  KERNEL  $@ ($$(stat -c %s $@) bytes)"

# User programs, each a static musl binary built by tools/cc:
#   user/X.c          -> /bin/X          (one-file programs)
#   user/X/*.c        -> /bin/X          (programs with several files, e.g. sh)
#   user/tests/X.c    -> /bin/tests/X    (the in-guest test suite)
#   user/bench/X.c    -> /bin/bench/X    (benchmarks)
# Debian's busybox-static goes in unmodified as /bin/busybox; EXTRA=DIR adds
# DIR's files to /usr/local/bin (a user's own programs, see README).
USERCC := tools/cc
USERCFLAGS := -Werror
USERSRC := $(wildcard user/*.c user/tests/*.c user/bench/*.c)
USERDIRS := $(filter-out user/tests user/bench user/include,$(patsubst %/,%,$(dir $(wildcard user/*/*.c))))
USERBIN := $(patsubst user/%.c,$(B)/user/bin/%,$(USERSRC)) \
	$(patsubst user/%,$(B)/user/bin/%,$(sort $(USERDIRS)))
USERHDR := $(wildcard user/include/*.h)
$(B)/user/bin/%: user/%.c $(USERHDR) tools/cc Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MUSLCC  $<")
	$(Q)$(USERCC) $(USERCFLAGS) -o $@ $<

.SECONDEXPANSION:
$(patsubst user/%,$(B)/user/bin/%,$(sort $(USERDIRS))): $(B)/user/bin/%: \
		$$(wildcard user/%/*.c user/%/*.h) $(USERHDR) tools/cc Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MUSLCC  user/$*/")
	$(Q)$(USERCC) $(USERCFLAGS) -o $@ $(filter %.c,$^)

BUSYBOX ?= /bin/busybox
EXTRA ?=
# The image's size: what it holds plus ROOT_SPARE_MB (the root is a RAM
# disk: every node pays for its size in memory), or ROOT_MB if given.
ROOT_SPARE_MB ?= 6
ROOT_MB ?=

# The root file system image every node gets as a boot module.
ROOTFILES := $(shell find rootfs -type f 2>/dev/null)
$(B)/root.img: $(ROOTFILES) $(USERBIN) $(B)/extra.stamp Makefile
	@mkdir -p $(B)
	$(Q)rm -rf $(B)/root && mkdir -p $(B)/root && cp -a rootfs/. $(B)/root/
	$(Q)mkdir -p $(B)/root/bin $(B)/root/usr/local/bin && cp -a $(B)/user/bin/. $(B)/root/bin/
	$(Q)test -x $(BUSYBOX) || { echo "root.img: $(BUSYBOX) missing (run tools/deps: busybox-static)" >&2; exit 1; }
	$(Q)cp $(BUSYBOX) $(B)/root/bin/busybox
	$(Q)$(if $(EXTRA),cp -a $(EXTRA)/. $(B)/root/usr/local/bin/)
	@$(if $(Q),echo "  MKE2FS  $@")
	$(Q)rm -f $@ && truncate -s $(if $(ROOT_MB),$(ROOT_MB),$$(( $$(du -sm $(B)/root | cut -f1) + $(ROOT_SPARE_MB) )))M $@
	$(Q)mke2fs -q -F -t ext2 -b 1024 -L shoal-root -d $(B)/root $@
	$(Q)e2fsck -fn $@ > $(B)/root.fsck 2>&1 || { cat $(B)/root.fsck; exit 1; }

# EXTRA is a make variable, not a file: the stamp changes when it does, so
# the image is rebuilt when EXTRA changes (or DIR's contents do).
$(B)/extra.stamp: FORCE
	@mkdir -p $(B)
	@{ echo "$(EXTRA)"; $(if $(EXTRA),test -d "$(EXTRA)" || { echo "EXTRA=$(EXTRA): not a directory" >&2; exit 1; }; find "$(EXTRA)" -type f -printf '%p %s %T@\n' | sort;) } > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@
FORCE:

# ---------------------------------------------------------------- running
deps:
	$(Q)tools/deps

# A cluster already running in build/cluster is attached to, not restarted.
run: deps all
	@if tools/cluster status >/dev/null 2>&1; then \
		echo "run: a cluster is already running; attaching (tools/cluster down stops it)"; \
	else tools/cluster up -n 4; fi
	tools/cluster console 0

# make qemu [APPEND="boot options"] [ACCEL=kvm] [DISK=image]: DISK attaches a
# raw image as a virtio-blk disk (vda).
ACCEL ?= tcg
QEMU_DISK = $(if $(DISK),-drive file=$(DISK)$(,)if=none$(,)format=raw$(,)id=d0 -device virtio-blk-pci$(,)drive=d0)
, := ,
qemu: all
	qemu-system-x86_64 -M pc -accel $(ACCEL) -m 256 -bios /usr/share/qemu/qboot.rom \
		-kernel $(B)/shoal.elf -initrd $(B)/root.img -append "node=0 $(APPEND)" \
		-nic none -display none -serial mon:stdio $(QEMU_DISK) \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04

GDBPORT := $(shell echo $$((20000 + $$(id -u) % 10000)))
qemu-gdb: all
	@printf 'file $(B)/shoal.elf\ntarget remote localhost:$(GDBPORT)\n' > .gdbinit
	@echo "GDB stub on localhost:$(GDBPORT); run 'gdb' here (.gdbinit written)."
	qemu-system-x86_64 -M pc -accel tcg -m 256 -bios /usr/share/qemu/qboot.rom \
		-kernel $(B)/shoal.elf -initrd $(B)/root.img -append "node=0 $(APPEND)" \
		-nic none -display none -serial mon:stdio -S -gdb tcp:localhost:$(GDBPORT)

# ---------------------------------------------------------------- tests
UNIT_CFLAGS := -std=gnu11 -O1 -g -I. -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=all -DHOST_TEST=1

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))

# Each tests/unit/test_X.c lists the kernel files it compiles in a line
# "// SOURCES: path/a.c path/b.c" (flags may appear there too). A unit test
# is rebuilt when any kernel or test source changes: they build in seconds.
UNIT_DEPS := $(KCSRC) $(foreach d,$(KDIRS),$(wildcard $(d)/*.h)) \
	$(wildcard tests/unit/*.c tests/unit/*.h)
$(B)/unit/%: tests/unit/%.c $(UNIT_DEPS) Makefile
	@mkdir -p $(B)/unit
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(HOSTCC) $(UNIT_CFLAGS) -o $@ $< $$(sed -n 's|^// SOURCES:||p' $<)

unit-build: $(UNIT_TESTS)

unit: $(UNIT_TESTS)
	$(Q)tools/run-unit $(UNIT_TESTS)

# A long run of the ext2 corruptor (make test runs 5,000 fixed-seed cases):
# FUZZ_CASES cases from FUZZ_SEED, random (and printed) unless given.
# Then the Linker's frame fuzzer (make test runs 20,000 fixed-seed cases
# per batch): LINK_FUZZ_CASES frames, the same way; then the migration
# message decoders (20,000 in make test): MIG_FUZZ_CASES messages.
FUZZ_CASES ?= 200000
LINK_FUZZ_CASES ?= 1000000
MIG_FUZZ_CASES ?= 2000000
fuzz: $(B)/unit/test_ext2_fuzz $(B)/unit/test_linkfuzz $(B)/unit/test_migmsg
	FUZZ_CASES=$(FUZZ_CASES) FUZZ_SEED=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} $<
	FUZZ_CASES=$(LINK_FUZZ_CASES) FUZZ_SEED=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} $(B)/unit/test_linkfuzz
	FUZZ_CASES=$(MIG_FUZZ_CASES) FUZZ_SEED=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} $(B)/unit/test_migmsg

CSTYLE_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
check-style:
	$(Q)clang-format --dry-run --Werror $(CSTYLE_FILES)
	@echo "check-style: $(words $(CSTYLE_FILES)) files clean"

format:
	$(Q)clang-format -i $(CSTYLE_FILES)

test: deps
	$(Q)tools/test-all

bench: all
	$(Q)tools/deps bench
	$(Q)$(PYTHON) tools/bench/boot.py $(BENCH_ARGS)
	$(Q)$(PYTHON) tools/bench/fs.py --build $(B) $(BENCH_FS_ARGS)
	$(Q)$(PYTHON) tools/bench/ubench.py --build $(B) $(BENCH_USER_ARGS)
	$(Q)$(PYTHON) tools/bench/net.py --build $(B) $(BENCH_NET_ARGS)
	$(Q)$(PYTHON) tools/bench/link.py --build $(B) $(BENCH_LINK_ARGS)
	$(Q)$(PYTHON) tools/bench/mig.py --build $(B) $(BENCH_MIG_ARGS)
	$(Q)$(PYTHON) tools/bench/lb.py --build $(B) $(BENCH_LB_ARGS)

bench-fs: all
	$(Q)tools/deps bench
	$(Q)$(PYTHON) tools/bench/fs.py --build $(B) $(BENCH_FS_ARGS)

# Process micro-benchmarks (user/bench/ubench.c) on a Shoal node and in a Linux
# guest on the same QEMU machine; BENCH_USER_ARGS="--quick --host" for example.
bench-user: all
	$(Q)tools/deps bench
	$(Q)$(PYTHON) tools/bench/ubench.py --build $(B) $(BENCH_USER_ARGS)

# Network figures (tools/bench/net.py): TCP throughput, TCP/UDP round trips
# between two Shoal nodes and between two Linux guests on the same QEMU
# machine, and Shoal's raw frame rate; BENCH_NET_ARGS="--quick" for example.
bench-net: all
	$(Q)tools/deps bench
	$(Q)$(PYTHON) tools/bench/net.py --build $(B) $(BENCH_NET_ARGS)

# The Linker's figures (tools/bench/link.py): linkperf send/rpc/raw/rawping and TCP
# (netx) between two Shoal nodes, with ratios and the issue 6 targets;
# BENCH_LINK_ARGS="--quick" or "--runs 3" for example.
bench-link: all
	$(Q)tools/deps bench
	$(Q)$(PYTHON) tools/bench/link.py --build $(B) $(BENCH_LINK_ARGS)

# Migration figures (tools/bench/mig.py, user/bench/migbench.c): moves of 1, 16
# and 64 MiB of dirty memory against Linker bulk throughput, forwarded system
# calls against a Linker RPC, remote file writes, pages fetched on demand;
# BENCH_MIG_ARGS="--quick" or "--runs 3" for example.
bench-mig: all
	$(Q)tools/deps bench
	$(Q)$(PYTHON) tools/bench/mig.py --build $(B) $(BENCH_MIG_ARGS)

# The load balancer on a real cluster (tools/bench/lb.py): the paper's Table 1
# (spawn -n N cpuhog on node 0 of 16 --icount 5 nodes) for mosix, static and
# the optimal formula, a heterogeneous cluster (a third of the nodes 4x slower)
# and the idle cost; about 3 hours. BENCH_LB_ARGS="--quick" (4 nodes, minutes)
# or "--points 16,32 --runs 1" for example.
bench-lb: all
	$(Q)tools/deps bench
	$(Q)$(PYTHON) tools/bench/lb.py --build $(B) $(BENCH_LB_ARGS)

# tools/lbsim: the balancing policy (mosix/policy.c, the kernel's file) on a
# simulated cluster, built for the host (docs/loadbalancing.md). make test
# runs its Table 1 in --quick mode (tests/host/test_lbsim.py); make lbsim runs
# every experiment; LBSIM_ARGS="--set hysteresis=150" for example.
LBSIM := $(B)/tools/lbsim
LBSIM_ARGS ?=
$(LBSIM): tools/lbsim/lbsim.c mosix/policy.c mosix/policy.h Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(HOSTCC) -std=gnu11 -O2 -g -I. -Wall -Wextra -Werror -Wno-unused-parameter \
		-o $@ tools/lbsim/lbsim.c mosix/policy.c -lm

lbsim: $(LBSIM)
	$(Q)tools/deps lbsim
	$(Q)$(LBSIM) $(LBSIM_ARGS) all

clean:
	rm -rf $(B)

.PHONY: all deps run qemu qemu-gdb unit unit-build check-style format test bench bench-fs \
	bench-user bench-net bench-link bench-mig bench-lb lbsim clean fuzz FORCE

-include $(shell find $(B) -name '*.d' 2>/dev/null)
