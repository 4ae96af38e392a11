package cache

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the file at p read-only. Reading a 2 MB stat cache into a
// fresh buffer costs hundreds of page faults, each expensive under a
// hypervisor; a file mapping is faulted in 64 KiB at a time straight from
// the page cache. The mapping is never unmapped: the strings Get returns
// point into it and may outlive the Stats (gorae opens each context's
// stat cache once per build). The file is replaced by rename, never
// written in place, so the mapped bytes never change.
func mapFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 || fi.Size() > 1<<31 {
		return os.ReadFile(p) // nothing to map, or not a stat cache
	}
	return unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
}
