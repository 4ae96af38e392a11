package content

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

func TestLayer(t *testing.T) {
	raw := bytes.Repeat([]byte("layer tar bytes "), 1000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	zs, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zst := zs.EncodeAll(raw, nil)
	for _, tc := range []struct {
		name string
		blob []byte
		mt   types.MediaType
	}{
		{"gzip", gz.Bytes(), types.OCILayer},
		{"zstd", zst, types.OCILayerZStd},
		{"docker-gzip", gz.Bytes(), types.DockerLayer},
		{"uncompressed", raw, types.OCIUncompressedLayer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := open(t)
			d, err := s.PutBytes(tc.blob)
			if err != nil {
				t.Fatal(err)
			}
			for _, diffID := range []v1.Hash{{}, sha(t, raw)} {
				l := s.Layer(d, diffID, 0, tc.mt)
				if got, _ := l.Digest(); got != d {
					t.Errorf("Digest = %s, want %s", got, d)
				}
				if got, _ := l.DiffID(); got != sha(t, raw) {
					t.Errorf("DiffID = %s, want %s", got, sha(t, raw))
				}
				if n, _ := l.Size(); n != int64(len(tc.blob)) {
					t.Errorf("Size = %d, want %d", n, len(tc.blob))
				}
				if mt, _ := l.MediaType(); mt != tc.mt {
					t.Errorf("MediaType = %s", mt)
				}
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, raw) {
					t.Errorf("Uncompressed gave %d bytes, %v; want %d", len(got), err, len(raw))
				}
			}
		})
	}
}

func TestLayerMissingBlob(t *testing.T) {
	s, _ := open(t)
	l := s.Layer(sha(t, []byte("gone")), v1.Hash{}, 4, types.OCILayer)
	if _, err := l.Compressed(); err == nil {
		t.Error("Compressed of a missing blob succeeded")
	}
}
