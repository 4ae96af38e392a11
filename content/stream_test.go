package content

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// lazyStore is a store with one lazy blob, served by a RemoteFetcher that
// hands out body (which may differ from the recorded blob) and counts
// its calls.
func lazyStore(t *testing.T, blob, body []byte) (*Store, v1.Hash, *int) {
	t.Helper()
	s, _ := open(t)
	d := sha(t, blob)
	if err := s.AddRemote(d, RemoteSource{Ref: "127.0.0.1:5000/base/x", Size: int64(len(blob)), Image: "x:1", Base: true}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	s.SetRemoteFetcher(func(context.Context, v1.Hash, RemoteSource) (io.ReadCloser, int64, error) {
		calls++
		return io.NopCloser(iotest.HalfReader(bytes.NewReader(body))), int64(len(body)), nil
	})
	return s, d, &calls
}

func TestStreamStoresALazyBlobAsItIsRead(t *testing.T) {
	blob := bytes.Repeat([]byte("layer bytes "), 10000)
	s, d, calls := lazyStore(t, blob, blob)
	rc, err := s.Stream(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	half := make([]byte, len(blob)/2)
	if _, err := io.ReadFull(rc, half); err != nil {
		t.Fatal(err)
	}
	if s.Has(d) {
		t.Fatal("blob stored before the stream ended")
	}
	rest, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(append(half, rest...), blob) {
		t.Fatalf("streamed bytes differ (err %v)", err)
	}
	rc.Close()
	if !s.Has(d) {
		t.Fatal("blob not stored once read whole")
	}
	if _, ok := s.Remote(d); ok {
		t.Error("remote record survived the fetch")
	}
	// From now on it is local: no second fetch.
	rc, err = s.Stream(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, blob) || *calls != 1 {
		t.Errorf("second Stream: %d bytes, %d fetches; want the blob, 1 fetch", len(got), *calls)
	}
}

func TestStreamOfACorruptDownloadFailsAtItsEnd(t *testing.T) {
	blob := []byte("the real layer")
	s, d, _ := lazyStore(t, blob, []byte("a forged layer"))
	rc, err := s.Stream(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	for _, want := range []string{"digest mismatch", "of x:1 is not local", "127.0.0.1:5000/base/x", "gorae pull x:1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("reading a corrupt download: %v; want it to say %q", err, want)
		}
	}
	if s.Has(d) {
		t.Error("a corrupt download was stored")
	}
	if _, ok := s.Remote(d); !ok {
		t.Error("the remote record went with a failed fetch")
	}
}

func TestStreamClosedEarlyStoresNothing(t *testing.T) {
	blob := bytes.Repeat([]byte("x"), 1<<16)
	s, d, _ := lazyStore(t, blob, blob)
	rc, err := s.Stream(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if s.Has(d) {
		t.Error("a blob read in part was stored")
	}
	if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestStreamOfAnUnknownBlob(t *testing.T) {
	s, _ := open(t)
	_, err := s.Stream(t.Context(), sha(t, []byte("nowhere")))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stream of a blob neither local nor lazy = %v, want ErrNotExist", err)
	}
}
