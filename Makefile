# Builds everything into out/: the kernel (C# -> IL -> ILC native code -> linked PVH ELF),
# and ukpack. `make test` runs host tests, boot tests and the compat suite.

SHELL := /bin/bash
OUT := out
OBJ := $(OUT)/obj
ILC_VERSION := 10.0.14
NUGET_PACKAGES ?= $(HOME)/.nuget/packages
ILC := $(NUGET_PACKAGES)/runtime.linux-x64.microsoft.dotnet.ilcompiler/$(ILC_VERSION)/tools/ilc
DOTNET ?= dotnet
QEMU ?= qemu-system-x86_64

KERNEL_CS := $(shell find kernel drivers abi fs net syscalls loader -name '*.cs' -not -path '*/obj/*' -not -path '*/bin/*' 2>/dev/null)
KERNEL_S := $(wildcard kernel/arch/x86_64/*.S)
KERNEL_S_OBJ := $(patsubst kernel/arch/x86_64/%.S,$(OBJ)/%.o,$(KERNEL_S)) $(OBJ)/vdso_blob.o

.PHONY: all kernel test test-host test-boot test-compat test-gc-stress test-smp bench demo docs clean check-tools check-qemu fuzz

all: check-tools $(OUT)/kernel.elf $(OUT)/ukpack

check-qemu:
	@command -v $(QEMU) >/dev/null || { echo "make: QEMU is missing: apt-get install qemu-system-x86" >&2; exit 1; }
	@command -v musl-gcc >/dev/null || { echo "make: musl-gcc is missing: apt-get install musl-tools" >&2; exit 1; }

check-tools:
	@command -v $(DOTNET) >/dev/null || { echo "make: the .NET SDK 10 is missing: install it (https://dot.net) or put dotnet on PATH" >&2; exit 1; }
	@command -v gcc >/dev/null && command -v ld >/dev/null || { echo "make: gcc and binutils are missing: apt-get install gcc binutils" >&2; exit 1; }

# The pinned ILCompiler package, restored once.
$(ILC): kernel/build/IlcRestore.csproj
	$(DOTNET) restore kernel/build/IlcRestore.csproj -v quiet -p:IlcVersion=$(ILC_VERSION) >/dev/null
	@test -x $@ || { echo "make: ILCompiler $(ILC_VERSION) did not restore to $@" >&2; exit 1; }
	@touch $@

$(OBJ)/il/Kernel.dll: $(KERNEL_CS) kernel/Kernel.csproj kernel/runtime/Corelib/Corelib.csproj
	@mkdir -p $(OBJ)/il
	$(DOTNET) build kernel/Kernel.csproj -c Release -o $(OBJ)/il -v quiet -nologo -clp:NoSummary -p:TreatWarningsAsErrors=false
	@touch $@

$(OBJ)/kernel.o: $(OBJ)/il/Kernel.dll $(ILC)
	$(ILC) $(OBJ)/il/Kernel.dll $(OBJ)/il/Corelib.dll --systemmodule:Corelib --targetos:linux --targetarch:x64 \
	    -O --nativelib --map:$(OBJ)/kernel.map -o $@

$(OBJ)/%.o: kernel/arch/x86_64/%.S kernel/arch/x86_64/frame.h
	@mkdir -p $(OBJ)
	gcc -c -x assembler-with-cpp -o $@ $<

# The vDSO: a tiny position-independent shared object, embedded in the kernel image.
$(OBJ)/vdso.so: kernel/vdso/vdso.c kernel/vdso/vdso.lds kernel/vdso/vdso.map
	@mkdir -p $(OBJ)
	gcc -O2 -fPIC -fno-stack-protector -fno-asynchronous-unwind-tables -ffreestanding -nostdlib -shared \
	    -Wl,-soname=linux-vdso.so.1 -Wl,--hash-style=both -Wl,-Bsymbolic -Wl,--version-script=kernel/vdso/vdso.map \
	    -Wl,-T,kernel/vdso/vdso.lds -Wl,-z,max-page-size=4096 -Wl,--build-id=none -o $@ kernel/vdso/vdso.c
	@! readelf -r $@ | grep -q 'R_X86_64' || { echo "make: the vDSO must have no relocations" >&2; exit 1; }

$(OBJ)/vdso_blob.o: kernel/vdso/vdso_blob.S $(OBJ)/vdso.so
	gcc -c -x assembler-with-cpp -DVDSO_PATH='"$(OBJ)/vdso.so"' -o $@ $<

LINK = ld -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T kernel/arch/x86_64/linker.ld

# Two links: the second embeds the first's symbol table in .ksyms, the last section, so no
# other address moves between them.
$(OUT)/kernel.elf: $(OBJ)/kernel.o $(KERNEL_S_OBJ) kernel/arch/x86_64/linker.ld kernel/build/mksyms.sh
	kernel/build/mksyms.sh > $(OBJ)/ksyms0.S && gcc -c -x assembler $(OBJ)/ksyms0.S -o $(OBJ)/ksyms0.o
	$(LINK) -o $(OBJ)/kernel.pass1.elf $(OBJ)/kernel.o $(KERNEL_S_OBJ) $(OBJ)/ksyms0.o
	kernel/build/mksyms.sh $(OBJ)/kernel.pass1.elf > $(OBJ)/ksyms.S && gcc -c -x assembler $(OBJ)/ksyms.S -o $(OBJ)/ksyms.o
	$(LINK) -o $@ $(OBJ)/kernel.o $(KERNEL_S_OBJ) $(OBJ)/ksyms.o

kernel: $(OUT)/kernel.elf

-include tools/ukpack/ukpack.mk

# Main job on a built-in default: pack a static hello world and boot it.
demo: all check-qemu
	@mkdir -p $(OBJ)/demo
	musl-gcc -static -O2 -o $(OBJ)/demo/hello tests/demo/hello.c
	$(OUT)/ukpack build $(OBJ)/demo/hello -o $(OBJ)/demo/hello.img -- "from the demo"
	$(OUT)/ukpack run $(OBJ)/demo/hello.img

test: all test-host test-boot test-compat test-gc-stress test-smp

test-host:
	$(DOTNET) test tests/HostTests -v quiet -nologo --logger "console;verbosity=minimal"

test-boot: all check-qemu
	$(DOTNET) test tests/BootTests -v quiet -nologo --logger "console;verbosity=minimal"

test-compat: all check-qemu
	compat-suite/run.sh
	@# busybox's native side runs in a chroot, which needs root.
	if [ "$$(id -u)" = 0 ]; then compat-suite/busybox/run.sh; else sudo -n compat-suite/busybox/run.sh; fi

# The compat suite and the busybox cases again with the kernel collecting at every
# allocation (ukpack run --gc-stress 1): a reference the collector misses shows up as a
# freed, poisoned object in use.
# The compat suite with several vCPUs (docs/smp.md): user threads run in parallel, the
# kernel under its big lock.
test-smp: all check-qemu
	UKPACK_RUN_OPTS="--smp 2" compat-suite/run.sh --no-build
	UKPACK_RUN_OPTS="--smp 4" compat-suite/run.sh --no-build

test-gc-stress: all check-qemu
	UKPACK_RUN_OPTS="--gc-stress 1" compat-suite/run.sh --no-build
	if [ "$$(id -u)" = 0 ]; then UKPACK_RUN_OPTS="--gc-stress 1" compat-suite/busybox/run.sh; else sudo -n env UKPACK_RUN_OPTS="--gc-stress 1" compat-suite/busybox/run.sh; fi

bench: all
	bench/run.sh

# A longer syscall-fuzzing campaign than the four seeds `make test` runs (tests/fuzz/).
FUZZ_FIRST ?= 1
FUZZ_SEEDS ?= 100
FUZZ_CALLS ?= 100000
fuzz: all check-qemu
	tests/fuzz/campaign.sh $(FUZZ_FIRST) $(FUZZ_SEEDS) $(FUZZ_CALLS)

# docs/syscalls.md is generated from the support table (syscalls/SyscallList.cs, plain data
# shared by the kernel and ukpack); a host test checks it is fresh, a boot test that the
# kernel binds a handler to exactly the calls it lists as supported.
docs: $(OUT)/ukpack
	$(OUT)/ukpack syscalls --markdown > docs/syscalls.md.tmp && mv docs/syscalls.md.tmp docs/syscalls.md

clean:
	rm -rf $(OUT) kernel/bin kernel/obj kernel/runtime/Corelib/bin kernel/runtime/Corelib/obj
