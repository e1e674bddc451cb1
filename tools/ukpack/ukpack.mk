# ukpack host CLI. Included from the top-level Makefile.
# out/ukpack is a small sh launcher for the framework-dependent build in out/ukpack.d/;
# it exports UKPACK_HOME (its own directory) so ukpack finds out/kernel.elf by default.
UKPACK_SRCS := $(wildcard tools/ukpack/*.cs) tools/ukpack/ukpack.csproj loader/ElfFile.cs fs/RootFsFormat.cs

out/ukpack: $(UKPACK_SRCS)
	@mkdir -p out
	@DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet publish tools/ukpack/ukpack.csproj \
		-c Release -o out/ukpack.d --nologo -v q -clp:NoSummary -p:UseAppHost=false
	@printf '%s\n' '#!/bin/sh' \
		'UKPACK_HOME=$$(cd "$$(dirname "$$0")" && pwd)' \
		'export UKPACK_HOME' \
		'exec dotnet "$$UKPACK_HOME/ukpack.d/ukpack.dll" "$$@"' > out/ukpack.tmp
	@chmod +x out/ukpack.tmp && mv out/ukpack.tmp out/ukpack
	@echo "  UKPACK  out/ukpack"

.PHONY: ukpack
ukpack: out/ukpack
