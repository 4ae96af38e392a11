package snapshot

import (
	"os"

	"golang.org/x/sys/unix"
)

// spreadNewDirs asks ext4 to place directories made in dir as it places
// top-level ones (the "T" attribute, FS_TOPDIR_FL): each in a block group
// with many free inodes, rather than in dir's own group. Unpacked chains
// and RUN snapshots are made and removed in bulk; without it a new
// chain's thousands of inodes are allocated in the groups where the last
// prune just freed thousands, and ext4 without a journal skips every
// inode freed in the last minutes one by one: unpacking the Debian base
// after a prune took 1.9 s of system time instead of 0.3 s here.
// Other file systems do not have the attribute; nothing changes there.
func spreadNewDirs(dir string) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	defer f.Close()
	fd := int(f.Fd())
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFL != 0 {
		return
	}
	_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFL))
}

// fsTopdirFL is FS_TOPDIR_FL of linux/fs.h, which x/sys/unix lacks.
const fsTopdirFL = 0x00020000
