#!/usr/bin/python3
"""Extract the ELF vmlinux from a Linux bzImage (e.g. Debian's /boot/vmlinuz-*).

A bzImage is a real-mode setup block plus a small decompressor (not an ELF the
PVH loaders accept); the real kernel is a compressed ELF stored inside it. Like
the kernel's scripts/extract-vmlinux, we look for the magic number of each
compression format, try to decompress from every hit, and keep the first result
that is an ELF file. The bzImage header's payload_offset (boot protocol >= 2.08)
is tried first since it points straight at the payload.

Decompressors: gzip, xz, lzma and bzip2 with Python's standard library; zstd
and lz4 with Debian's command-line tools (packages `zstd`, `lz4`) when present.

    extract-vmlinux.py BZIMAGE OUTPUT [--require-pvh]

As a module: extract(data) -> (bytes, compression), pvh_entry(elf) -> int or None,
header_compression(data) -> compression named by the bzImage header.
"""

import bz2
import lzma
import shutil
import struct
import subprocess
import sys
import zlib

# (name, magic) in the order the kernel's own extract-vmlinux tries them.
MAGICS = [
    ("gzip", b"\x1f\x8b\x08"),
    ("xz", b"\xfd7zXZ\x00"),
    ("bzip2", b"BZh"),
    ("lzma", b"\x5d\x00\x00\x00"),
    ("lz4", b"\x02\x21\x4c\x18"),   # legacy lz4 frame, as the kernel uses
    ("zstd", b"\x28\xb5\x2f\xfd"),
]

XEN_ELFNOTE_PHYS32_ENTRY = 18


def _gzip(buf):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(buf)


def _xz(buf):
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(buf)


def _lzma(buf):
    return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(buf)


def _bzip2(buf):
    return bz2.BZ2Decompressor().decompress(buf)


def _tool(argv, buf):
    if shutil.which(argv[0]) is None:
        raise RuntimeError("%s not installed (Debian package %s)" % (argv[0], argv[0]))
    # Trailing bytes after the stream make these tools exit non-zero but the
    # decompressed output is still complete; judge by the ELF check instead.
    p = subprocess.run(argv, input=buf, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return p.stdout


DECOMPRESS = {
    "gzip": _gzip,
    "xz": _xz,
    "lzma": _lzma,
    "bzip2": _bzip2,
    "lz4": lambda b: _tool(["lz4", "-d", "-c"], b),
    "zstd": lambda b: _tool(["zstd", "-d", "-c", "-q"], b),
}


def is_elf(buf):
    return len(buf) > 64 and buf[:4] == b"\x7fELF"


def _candidates(data):
    """Offsets to try: the header's payload_offset first, then every magic hit."""
    seen = set()
    if len(data) > 0x250 and data[0x202:0x206] == b"HdrS":
        version = struct.unpack_from("<H", data, 0x206)[0]
        if version >= 0x208:
            setup_sects = data[0x1f1] or 4
            pm_start = (setup_sects + 1) * 512
            poff, plen = struct.unpack_from("<II", data, 0x248)
            off = pm_start + poff
            for name, magic in MAGICS:
                if data.startswith(magic, off):
                    seen.add(off)
                    yield name, off, off + plen
    for name, magic in MAGICS:
        pos = data.find(magic)
        while pos >= 0:
            if pos not in seen:
                yield name, pos, len(data)
            pos = data.find(magic, pos + 1)


def header_compression(data):
    """The payload's compression named by the bzImage header, or None."""
    for name, start, end in _candidates(data):
        return name if end != len(data) else None
    return None


def extract(data):
    """Return (vmlinux bytes, compression name). Raises ValueError if none found."""
    if is_elf(data):
        return data, "none"
    errors = []
    for name, start, end in _candidates(data):
        try:
            out = DECOMPRESS[name](data[start:end])
        except RuntimeError as e:   # missing tool: remember, try others
            errors.append(str(e))
            continue
        except Exception:
            continue
        if is_elf(out):
            return out, name
    msg = "no compressed ELF payload found"
    if errors:
        msg += " (" + "; ".join(sorted(set(errors))) + ")"
    raise ValueError(msg)


def _notes(elf):
    """Yield (name, type, desc) for each ELF note of a 64-bit little-endian ELF."""
    if elf[4] != 2 or elf[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF")
    phoff = struct.unpack_from("<Q", elf, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            pos += 12
            name = elf[pos:pos + namesz].rstrip(b"\0")
            pos += (namesz + 3) & ~3
            desc = elf[pos:pos + descsz]
            pos += (descsz + 3) & ~3
            yield name, ntype, desc


def pvh_entry(elf):
    """The XEN_ELFNOTE_PHYS32_ENTRY address, or None if the ELF has no PVH note."""
    for name, ntype, desc in _notes(elf):
        if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
            if len(desc) >= 8:
                return struct.unpack_from("<Q", desc)[0]
            return struct.unpack_from("<I", desc)[0]
    return None


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: extract-vmlinux.py BZIMAGE OUTPUT [--require-pvh]", file=sys.stderr)
        return 2
    with open(args[0], "rb") as f:
        data = f.read()
    try:
        elf, how = extract(data)
    except ValueError as e:
        print("extract-vmlinux: %s: %s" % (args[0], e), file=sys.stderr)
        return 1
    entry = pvh_entry(elf)
    if entry is None and "--require-pvh" in argv:
        print("extract-vmlinux: %s: ELF has no Xen PVH entry note" % args[0], file=sys.stderr)
        return 1
    with open(args[1], "wb") as f:
        f.write(elf)
    print("extract-vmlinux: %s -> %s (%s, %d bytes, PVH entry %s)" % (
        args[0], args[1], how, len(elf),
        "none" if entry is None else "0x%x" % entry), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
