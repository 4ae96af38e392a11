package progress

import "testing"

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 999: "999 B", 1000: "1.0 kB", 1_234_567: "1.2 MB", 1_200_000_000: "1.2 GB", 20_000_000_000: "20.0 GB",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
