using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ukpack;

/// <summary>`ukpack export IMAGE --format F` (docs/export.md): the image in the forms clouds
/// and VMMs take. Every disk format is BootDisk's raw disk, converted.</summary>
public static class Exporter
{
    public static readonly string[] Formats = ["raw", "qcow2", "vmdk", "gce", "oci", "firecracker"];

    public static string DefaultOutput(string image, string format)
    {
        string stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(image))!, Path.GetFileNameWithoutExtension(image));
        return format switch
        {
            "gce" => stem + ".tar.gz",
            "oci" => stem + ".oci",
            "firecracker" => stem + ".firecracker.json",
            _ => stem + "." + format,
        };
    }

    public static int Export(string image, string format, string? output, string memory, int cpus, TextWriter log)
    {
        if (!Formats.Contains(format)) throw new UkpackException($"--format {format}: not one of {string.Join(", ", Formats)}", 2);
        // A valid image, or a one-line error.
        if (ImageFile.Open(image).Disk != null)
            throw new UkpackException($"{image}: keeps its root filesystem on a disk (ukpack build --root-disk), which export does not support: build it without --root-disk to export it");
        string outPath = Path.GetFullPath(output ?? DefaultOutput(image, format));
        if (format == "firecracker")
        {
            File.WriteAllText(outPath, FirecrackerConfig(Path.GetFullPath(image), memory, cpus));
            log.WriteLine($"wrote {outPath} (firecracker --no-api --config-file {outPath})");
            return 0;
        }
        var work = Directory.CreateTempSubdirectory("ukpack-export-").FullName;
        try
        {
            string raw = format == "raw" ? outPath : Path.Combine(work, "disk.raw");
            BootDisk.Write(image, raw, work, format == "gce" ? 1L << 30 : 1 << 20);
            switch (format)
            {
                case "qcow2":
                    QemuImg(["convert", "-f", "raw", "-O", "qcow2", raw, outPath]);
                    break;
                case "vmdk":      // streamOptimized: what AWS's and VMware's importers take
                    QemuImg(["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, outPath]);
                    break;
                case "gce":       // GCP's image import: disk.raw in a gzip'd GNU tar
                    WriteGceTar(raw, outPath);
                    break;
                case "oci":
                    string qcow = Path.Combine(work, "disk.qcow2");
                    QemuImg(["convert", "-f", "raw", "-O", "qcow2", raw, qcow]);
                    WriteContainerDisk(qcow, outPath);
                    break;
            }
            log.WriteLine($"wrote {outPath}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(work, true); } catch { }
        }
    }

    static void QemuImg(string[] args)
    {
        if (QemuRunner.FindOnPath("qemu-img") == null) throw new UkpackException("export needs qemu-img (Debian: apt-get install qemu-utils)");
        BootDisk.Run("qemu-img", args);
    }

    static void WriteGceTar(string raw, string outPath)
    {
        using var fs = File.Create(outPath);
        using var gz = new GZipStream(fs, CompressionLevel.Optimal);
        using var tar = new TarWriter(gz, TarEntryFormat.Gnu);
        tar.WriteEntry(raw, "disk.raw");
    }

    /// <summary>An OCI image layout directory holding the disk as KubeVirt's containerDisk
    /// expects: one layer with /disk/disk.qcow2 owned by uid/gid 107 (QEMU's user in
    /// KubeVirt's launcher). Push it with `skopeo copy oci:DIR docker://REGISTRY/NAME`.</summary>
    public static void WriteContainerDisk(string qcow2, string dir)
    {
        // Replace an earlier export, never anything else a mistyped -o could name.
        if (File.Exists(dir)) throw new UkpackException($"{dir}: exists and is a file (an OCI layout is a directory)");
        if (Directory.Exists(dir))
        {
            if (!File.Exists(Path.Combine(dir, "oci-layout")) && Directory.EnumerateFileSystemEntries(dir).Any())
                throw new UkpackException($"{dir}: exists and is not an OCI layout; remove it or name another directory with -o");
            Directory.Delete(dir, true);
        }
        string blobs = Path.Combine(dir, "blobs", "sha256");
        Directory.CreateDirectory(blobs);

        // The layer: tar+gzip; its diff_id is the digest of the uncompressed tar.
        string tarPath = Path.Combine(dir, "layer.tar");
        using (var t = File.Create(tarPath))
        using (var tar = new TarWriter(t, TarEntryFormat.Pax, leaveOpen: false))
        {
            var d = new PaxTarEntry(TarEntryType.Directory, "disk/") { Uid = 107, Gid = 107, Mode = (UnixFileMode)0x1ed };   // 0755
            tar.WriteEntry(d);
            using var src = File.OpenRead(qcow2);
            var f = new PaxTarEntry(TarEntryType.RegularFile, "disk/disk.qcow2") { Uid = 107, Gid = 107, Mode = (UnixFileMode)0x124, DataStream = src };   // 0444
            tar.WriteEntry(f);
        }
        string diffId = Sha256File(tarPath);
        string gzPath = Path.Combine(dir, "layer.tar.gz");
        using (var i = File.OpenRead(tarPath))
        using (var o = File.Create(gzPath))
        using (var gz = new GZipStream(o, CompressionLevel.Optimal)) i.CopyTo(gz);
        File.Delete(tarPath);
        string layerDigest = Sha256File(gzPath);
        long layerSize = new FileInfo(gzPath).Length;
        File.Move(gzPath, Path.Combine(blobs, layerDigest));

        var config = new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray("sha256:" + diffId) },
            ["config"] = new JsonObject(),
        };
        var (configDigest, configSize) = WriteBlob(blobs, config);
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", configDigest, configSize),
            ["layers"] = new JsonArray(Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layerDigest, layerSize)),
        };
        var (manifestDigest, manifestSize) = WriteBlob(blobs, manifest);
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(Descriptor("application/vnd.oci.image.manifest.v1+json", manifestDigest, manifestSize,
                new JsonObject { ["org.opencontainers.image.ref.name"] = "latest" })),
        };
        File.WriteAllText(Path.Combine(dir, "index.json"), index.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
    }

    static JsonObject Descriptor(string mediaType, string digest, long size, JsonObject? annotations = null)
    {
        var d = new JsonObject { ["mediaType"] = mediaType, ["digest"] = "sha256:" + digest, ["size"] = size };
        if (annotations != null) d["annotations"] = annotations;
        return d;
    }

    static (string Digest, long Size) WriteBlob(string blobs, JsonObject json)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
        string digest = Convert.ToHexStringLower(SHA256.HashData(bytes));
        File.WriteAllBytes(Path.Combine(blobs, digest), bytes);
        return (digest, bytes.Length);
    }

    static string Sha256File(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>Firecracker's --config-file: the image is both the kernel (an ELF with the PVH
    /// note, which Firecracker boots with PVH) and the initrd (the payload). Its devices are
    /// virtio-mmio, which Firecracker announces on the command line (virtio_mmio.device=,
    /// read by the kernel); the program's stdio is the serial console (ttyS0, COM1), stderr
    /// too being on COM2, which Firecracker lacks; the program's exit resets the VM through the
    /// i8042, which Firecracker takes as the VM's end.</summary>
    public static string FirecrackerConfig(string image, string memory, int cpus)
    {
        var cfg = new JsonObject
        {
            ["boot-source"] = new JsonObject
            {
                ["kernel_image_path"] = image,
                ["initrd_path"] = image,
                ["boot_args"] = BootDisk.KernelArgs,
            },
            ["drives"] = new JsonArray(),
            ["machine-config"] = new JsonObject { ["vcpu_count"] = cpus, ["mem_size_mib"] = MemoryMiB(memory) },
            ["network-interfaces"] = new JsonArray(),
        };
        return cfg.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>QEMU-style sizes: 512, 512M, 2G (MiB when no suffix, as QEMU's -m).</summary>
    public static long MemoryMiB(string s)
    {
        s = s.Trim();
        long mult = 1;
        if (s.EndsWith('G') || s.EndsWith('g')) { mult = 1024; s = s[..^1]; }
        else if (s.EndsWith('M') || s.EndsWith('m')) s = s[..^1];
        if (!long.TryParse(s, out long v) || v <= 0) throw new UkpackException($"--mem {s}: expected a size such as 512M or 2G");
        return v * mult;
    }
}
