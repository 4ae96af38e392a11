#!/usr/bin/env python3
"""Generate the rpm database fixtures of sbom's tests (go test does not run this).

rpmdb.sqlite: the Packages table rpm 4.16+ creates, holding headers built
here: 300 packages (so the table b-tree has interior pages), one with a
header larger than a page (an overflow chain), one with an epoch, one
gpg-pubkey (not a package; the scanner leaves it out).

rpmdb-wal/rpmdb.sqlite{,-wal}: the same database in WAL mode with one more
package committed to the log and not yet checkpointed, as a live rpm
leaves it.

Run from this directory: python3 gen_rpmdb.py
"""
import os
import shutil
import sqlite3
import struct

TAGS = {  # tag: type (rpmtag.h)
    1000: 6, 1001: 6, 1002: 6, 1003: 4, 1004: 9, 1011: 6, 1014: 6, 1022: 6, 1044: 6,
}


def header(name, version, release, arch, license, vendor, sourcerpm, epoch=None, summary="x"):
    """An rpm header blob as rpmdb stores it: il, dl, index, data (no magic)."""
    values = {1000: name, 1001: version, 1002: release, 1004: summary, 1011: vendor,
              1014: license, 1022: arch, 1044: sourcerpm}
    if epoch is not None:
        values[1003] = epoch
    index, data = b"", b""
    for tag in sorted(values):
        typ, v = TAGS[tag], values[tag]
        if typ == 4:
            while len(data) % 4:
                data += b"\0"
            off = len(data)
            data += struct.pack(">i", v)
        else:
            off = len(data)
            data += v.encode() + b"\0"
        index += struct.pack(">IIII", tag, typ, off, 1)
    return struct.pack(">II", len(values), len(data)) + index + data


def packages():
    yield header("bash", "5.2.26", "1.fc39", "x86_64", "GPL-3.0-or-later", "Fedora Project",
                 "bash-5.2.26-1.fc39.src.rpm")
    yield header("shadow-utils", "4.14.0", "2.fc39", "x86_64", "BSD-3-Clause AND GPL-2.0-or-later",
                 "Fedora Project", "shadow-utils-4.14.0-2.fc39.src.rpm", epoch=2)
    yield header("fedora-gpg-keys", "39", "1", "noarch", "MIT", "Fedora Project",
                 "fedora-repos-39-1.src.rpm", summary="k" * 9000)  # spills into overflow pages
    yield header("gpg-pubkey", "18b8e74c", "62f2920f", "(none)", "pubkey", "", "")
    for i in range(296):
        yield header("pkg%03d" % i, "1.%d" % i, "1.fc39", "x86_64", "MIT", "Fedora Project",
                     "pkg%03d-1.%d-1.fc39.src.rpm" % (i, i), summary="filler package %d " % i * 4)


def create(path):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size = 4096")
    db.execute("CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)")
    db.execute("CREATE TABLE 'Name' (key TEXT NOT NULL,hnum INTEGER NOT NULL,idx INTEGER NOT NULL)")
    for blob in packages():
        db.execute("INSERT INTO Packages (blob) VALUES (?)", (blob,))
    db.commit()
    db.execute("VACUUM")
    db.close()


create("rpmdb.sqlite")

os.makedirs("rpmdb-wal", exist_ok=True)
live = "/tmp/sbom-rpmdb-wal.sqlite"
shutil.copy("rpmdb.sqlite", live)
db = sqlite3.connect(live)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA wal_autocheckpoint = 0")
db.execute("INSERT INTO Packages (blob) VALUES (?)", (header(
    "curl", "8.2.1", "4.fc39", "x86_64", "curl", "Fedora Project", "curl-8.2.1-4.fc39.src.rpm"),))
db.commit()
# Copy while the connection is open: closing would checkpoint the log.
shutil.copy(live, "rpmdb-wal/rpmdb.sqlite")
shutil.copy(live + "-wal", "rpmdb-wal/rpmdb.sqlite-wal")
db.close()
for f in (live, live + "-wal", live + "-shm"):
    if os.path.exists(f):
        os.remove(f)
