package archive

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// uidMap is this process's /proc/self/uid_map: (inside, outside, count)
// per line; nil when unreadable (as on the host, for gorae's purposes).
var uidMap = sync.OnceValue(func() [][3]int64 {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return nil
	}
	var out [][3]int64
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		var e [3]int64
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		for i := range f {
			e[i], _ = strconv.ParseInt(f[i], 10, 64)
		}
		out = append(out, e)
	}
	return out
})

// InUserNamespace reports whether this process runs in a user namespace
// other than the host's (rootless gorae, or a pod with hostUsers: false).
// There, the kernel refuses trusted.* xattrs and device nodes other than
// whiteouts, so overlay metadata lives in the user.overlay.* namespace
// (overlayfs's userxattr option) and devices in layers cannot be
// created.
func InUserNamespace() bool {
	// The initial namespace maps every id onto itself: "0 0 4294967295".
	m := uidMap()
	return m != nil && !(len(m) == 1 && m[0] == [3]int64{0, 0, 4294967295})
}

// IDMapping is how many user ids this process's user namespace maps: 1
// when a rootless gorae has only the user mapped (no subordinate ids),
// 4294967295 on the host.
func IDMapping() int64 {
	var n int64
	for _, e := range uidMap() {
		n += e[2]
	}
	return n
}

// XWhiteoutXattr marks an empty regular file as a whiteout (overlayfs
// "xwhiteouts", with userxattr), where even a 0/0 character device cannot
// be made; its directory carries user.overlay.opaque="x".
const XWhiteoutXattr = userOverlayPrefix + "whiteout"

// Overlay metadata xattrs: overlayfs reads trusted.overlay.* as root on
// the host and user.overlay.* when mounted with userxattr (in a user
// namespace).
const (
	trustedOverlayPrefix = "trusted.overlay."
	userOverlayPrefix    = "user.overlay."
)

// OverlayOpaqueXattr is the xattr that marks a directory of an overlay
// lower or upper directory as opaque (nothing below it in lower layers
// shows through) in this process: trusted.overlay.opaque, or
// user.overlay.opaque where trusted.* is out of reach (see
// UserOverlayXattrs).
func OverlayOpaqueXattr() string {
	if UserOverlayXattrs() {
		return userOverlayPrefix + "opaque"
	}
	return trustedOverlayPrefix + "opaque"
}

// UserOverlayXattrs reports whether this process keeps overlay metadata
// in user.overlay.*: in a user namespace, and without CAP_SYS_ADMIN (a
// container that allows no namespace, --isolation=chroot), where the
// kernel refuses trusted.* xattrs.
var UserOverlayXattrs = sync.OnceValue(func() bool {
	return InUserNamespace() || !hasCapSysAdmin()
})

// hasCapSysAdmin reports whether CAP_SYS_ADMIN is in this process's
// effective set.
func hasCapSysAdmin() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<21) != 0 // CAP_SYS_ADMIN
		}
	}
	return false
}

// IsOverlayXattr reports whether key belongs to overlayfs's own metadata
// (trusted.overlay.* or user.overlay.*): never layer content, so layers
// made as root and rootless are the same.
func IsOverlayXattr(key string) bool {
	return strings.HasPrefix(key, trustedOverlayPrefix) || strings.HasPrefix(key, userOverlayPrefix)
}
