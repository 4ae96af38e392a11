package sbom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"github.com/package-url/packageurl-go"
)

// rpmSQLite are where rpm keeps its SQLite database: RHEL 9 and Fedora up
// to 35 in /var/lib/rpm, later Fedora in /usr/lib/sysimage/rpm (with
// /var/lib/rpm a link to it).
var rpmSQLite = []string{"var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"}

// rpmOther are rpm databases in formats Scan does not read: BerkeleyDB
// (RHEL 8, CentOS 7, Amazon Linux 2) and ndb (openSUSE).
var rpmOther = []string{"var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages", "usr/lib/sysimage/rpm/Packages.db"}

// scanRpm reads rpm's SQLite database: the Packages table's blobs are
// package headers.
func scanRpm(ctx context.Context, fsys fs.FS, d distro) ([]Package, error) {
	seen := map[string]bool{}
	var pkgs []Package
	for _, name := range rpmSQLite {
		real, err := existing(fsys, name)
		if errors.Is(err, fs.ErrNotExist) || seen[real] {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read /%s: %w", name, err)
		}
		seen[real] = true
		found, err := readRpmSQLite(ctx, fsys, real, "/"+name, d)
		if err != nil {
			return nil, fmt.Errorf("read /%s: %w", name, err)
		}
		pkgs = append(pkgs, found...)
	}
	if len(seen) > 0 {
		return pkgs, nil
	}
	for _, name := range rpmOther {
		if _, err := existing(fsys, name); err == nil {
			return nil, fmt.Errorf("read /%s: %w: only rpm's SQLite database (rpmdb.sqlite) is read, not BerkeleyDB or ndb", name, ErrUnsupported)
		}
	}
	return nil, nil
}

func readRpmSQLite(ctx context.Context, fsys fs.FS, real, source string, d distro) ([]Package, error) {
	r, size, closeDB, err := openReaderAt(fsys, real, maxDBSize)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	db, err := openSQLite(r, size)
	if err != nil {
		return nil, err
	}
	wr, wsize, closeWAL, err := openResolved(fsys, real+"-wal", maxDBSize)
	if err == nil {
		defer closeWAL()
		if err := db.readWAL(wr, wsize); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	root, err := db.tableRoot("Packages")
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	err = db.rows(root, func(rowid int64, rec []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		vals, err := record(rec)
		if err != nil {
			return err
		}
		for _, v := range vals {
			if !v.IsBlob {
				continue
			}
			h, err := parseRPMHeader(v.Bytes)
			if err != nil {
				return fmt.Errorf("package %d: %w", rowid, err)
			}
			if h.Name != "" && h.Name != "gpg-pubkey" {
				pkgs = append(pkgs, rpmPackage(h, source, d))
			}
			break
		}
		return nil
	})
	return pkgs, err
}

// rpmPackage makes a Package as syft does: version [EPOCH:]VERSION-RELEASE,
// purl version VERSION-RELEASE with the epoch and the source rpm as
// qualifiers.
func rpmPackage(h rpmHeader, source string, d distro) Package {
	vr := h.Version + "-" + h.Release
	p := Package{
		Name: h.Name, Version: vr, Type: "rpm", Source: source,
		Supplier: h.Vendor, Arch: h.Arch, SourcePackage: h.SourceRPM,
	}
	if h.License != "" {
		p.Licenses = []string{normalizeLicense(h.License)}
	}
	q := map[string]string{"arch": h.Arch, "upstream": h.SourceRPM}
	if h.Epoch != nil {
		e := strconv.Itoa(int(*h.Epoch))
		p.Version = e + ":" + vr
		q["epoch"] = e
	}
	p.PURL = purl(packageurl.TypeRPM, d.namespace("redhat"), h.Name, vr, q, d)
	return p
}

// openResolved is openReaderAt after resolving name's links in the tree.
func openResolved(fsys fs.FS, name string, limit int64) (io.ReaderAt, int64, func(), error) {
	real, err := resolve(fsys, name)
	if err != nil {
		return nil, 0, nil, err
	}
	return openReaderAt(fsys, real, limit)
}

// openReaderAt opens a regular file for random access: the fs.File
// itself when it is an io.ReaderAt (os files are), else its contents
// read into memory, which limit caps.
func openReaderAt(fsys fs.FS, name string, limit int64) (io.ReaderAt, int64, func(), error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, nil, fmt.Errorf("%s is not a regular file", name)
	}
	if ra, ok := f.(io.ReaderAt); ok {
		return ra, fi.Size(), func() { f.Close() }, nil
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, 0, nil, fmt.Errorf("%s: %d bytes is more than the %d read into memory", name, fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, 0, nil, err
	}
	return bytes.NewReader(b), int64(len(b)), func() {}, nil
}
