package ops

import (
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

type transferCall struct {
	id, label   string
	done, total int64
}

func TestLayerMeterReportsOnlyBigLayers(t *testing.T) {
	chunk := make([]byte, 1<<20)
	for _, tc := range []struct {
		mib   int
		err   error
		calls int // reports while writing
		final transferCall
	}{
		{mib: 8},
		{mib: 34, calls: 3, final: transferCall{label: "wrote layer sha256:0123456789ab", done: 34 << 20, total: 34 << 20}},
		{mib: 33, err: io.ErrShortWrite, calls: 2, final: transferCall{done: -1}},
	} {
		var got []transferCall
		e := &Env{Transfer: func(id, label string, done, total int64) {
			got = append(got, transferCall{id, label, done, total})
		}}
		m := e.meter()
		w := m.through(io.Discard)
		for range tc.mib {
			if _, err := w.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		m.finish(Layer{Digest: v1.Hash{Algorithm: "sha256", Hex: "0123456789abcdef0123"}}, tc.err)
		if tc.calls == 0 {
			if len(got) != 0 {
				t.Errorf("%d MiB layer reported %v", tc.mib, got)
			}
			continue
		}
		if len(got) != tc.calls+1 {
			t.Fatalf("%d MiB layer: %d reports, want %d: %v", tc.mib, len(got), tc.calls+1, got)
		}
		if first := got[0]; first.label != "writing layer" || first.done != 32<<20 || first.total != 0 {
			t.Errorf("first report %+v, want 32 MiB of unknown total", first)
		}
		last := got[len(got)-1]
		tc.final.id = got[0].id
		if last != tc.final {
			t.Errorf("%d MiB layer (err %v): final report %+v, want %+v", tc.mib, tc.err, last, tc.final)
		}
	}
}
