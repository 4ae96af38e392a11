package progress

import (
	"fmt"
	"strings"
)

// FormatSize formats n bytes as docker prints sizes in `system df` and
// `prune`, in powers of 1000 with one decimal: "512 B", "12.3 kB",
// "1.2 GB". (Transfer bars use the shorter form of bytesText.)
func FormatSize(n int64) string {
	return scaled(n, "%d B", "%.1f %s")
}

// scaled prints n in powers of 1000: below a kilobyte with small (bytes),
// else with big (the value and its unit).
func scaled(n int64, small, big string) string {
	if n < 1000 {
		return fmt.Sprintf(small, n)
	}
	v := float64(n)
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	i := -1
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf(big, v, units[i])
}

// ShortDigest is a digest ("sha256:…") as people read it: algorithm and
// 12 hex digits.
func ShortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

// CompactSize formats n bytes as BuildKit's plain progress does in its
// transfer lines: "330B", "1.23kB", "45.00MB" (two decimals from a
// kilobyte on, no space).
func CompactSize(n int64) string {
	return scaled(n, "%dB", "%.2f%s")
}
