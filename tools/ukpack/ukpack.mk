# ukpack host CLI. Included from the top-level Makefile.
# Published with NativeAOT (the pinned ILCompiler, as for the kernel) into one native
# executable, out/ukpack: it starts in milliseconds, which `ukpack run` latency needs.
# It finds out/kernel.elf beside itself.
UKPACK_SRCS := $(wildcard tools/ukpack/*.cs) tools/ukpack/ukpack.csproj abi/ElfFile.cs abi/FileMode.cs fs/RootFsFormat.cs syscalls/SyscallList.cs

out/ukpack: $(UKPACK_SRCS)
	@mkdir -p out
	@DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet publish tools/ukpack/ukpack.csproj \
		-c Release -r linux-x64 -p:PublishAot=true -o out/ukpack.d --nologo -v q -clp:NoSummary
	@cp out/ukpack.d/ukpack out/ukpack.tmp && mv out/ukpack.tmp out/ukpack
	@echo "  UKPACK  out/ukpack"

.PHONY: ukpack
ukpack: out/ukpack
