package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestRemoteRecordRoundTrip(t *testing.T) {
	s, _ := open(t)
	d := sha(t, []byte("lazy"))
	if _, ok := s.Remote(d); ok {
		t.Fatal("Remote found a record before AddRemote")
	}
	want := RemoteSource{Ref: "127.0.0.1:5000/cache", Size: 4, MediaType: types.OCILayer, Insecure: true, Image: "app:1"}
	if err := s.AddRemote(d, want); err != nil {
		t.Fatal(err)
	}
	got, ok := s.Remote(d)
	if !ok || got != want {
		t.Fatalf("Remote = %+v, %v; want %+v", got, ok, want)
	}
	if s.Has(d) {
		t.Error("Has reports a lazy blob as local")
	}
	var walked []v1.Hash
	if err := s.WalkRemote(func(h v1.Hash) error { walked = append(walked, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(walked) != 1 || walked[0] != d {
		t.Errorf("WalkRemote = %v, want [%s]", walked, d)
	}
	if err := s.Remove(d); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Remote(d); ok {
		t.Error("Remove left the remote record")
	}
	if err := s.AddRemote(d, RemoteSource{Size: 4}); err == nil {
		t.Error("AddRemote without a repository succeeded")
	}
}

func TestAddRemoteOfLocalBlobIsNoop(t *testing.T) {
	s, _ := open(t)
	d, err := s.PutBytes([]byte("here"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddRemote(d, RemoteSource{Ref: "r.example/x", Size: 4}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Remote(d); ok {
		t.Error("AddRemote recorded a blob whose bytes are local")
	}
}

func TestCorruptRemoteRecordIgnored(t *testing.T) {
	s, _ := open(t)
	d := sha(t, []byte("lazy"))
	if err := s.AddRemote(d, RemoteSource{Ref: "r.example/x", Size: 4}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.RemotePath(d), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Remote(d); ok {
		t.Error("Remote accepted a corrupt record")
	}
	called := false
	s.SetRemoteFetcher(func(context.Context, v1.Hash, RemoteSource) (io.ReadCloser, int64, error) {
		called = true
		return nil, 0, errors.New("unreachable")
	})
	if _, err := s.Open(d); !errors.Is(err, os.ErrNotExist) || called {
		t.Errorf("Open with a corrupt record = %v (fetcher called %v), want ErrNotExist without fetching", err, called)
	}
}

func TestLazyFetchStoresBlobAndDropsRecord(t *testing.T) {
	s, _ := open(t)
	data := []byte("lazy layer bytes")
	d := sha(t, data)
	src := RemoteSource{Ref: "127.0.0.1:5000/cache", Size: int64(len(data)), MediaType: types.OCILayer}
	if err := s.AddRemote(d, src); err != nil {
		t.Fatal(err)
	}
	var gotSrc RemoteSource
	s.SetRemoteFetcher(func(_ context.Context, h v1.Hash, rs RemoteSource) (io.ReadCloser, int64, error) {
		if h != d {
			return nil, 0, fmt.Errorf("asked for %s", h)
		}
		gotSrc = rs
		return io.NopCloser(bytes.NewReader(data)), int64(len(data)), nil
	})
	// A build's own Fetcher that lacks the blob must not hide the record.
	s.SetFetcher((&remoteBlobs{}).fetch)
	if got := read(t, s, d); !bytes.Equal(got, data) {
		t.Fatalf("Open read %q, want %q", got, data)
	}
	if gotSrc != src {
		t.Errorf("RemoteFetcher got %+v, want %+v", gotSrc, src)
	}
	if !s.Has(d) {
		t.Error("fetched lazy blob is not local")
	}
	if _, ok := s.Remote(d); ok {
		t.Error("remote record survived the fetch")
	}
}

func TestLazyFetchFailureNamesImageAndRegistry(t *testing.T) {
	s, _ := open(t)
	data := []byte("lazy layer bytes")
	d := sha(t, data)
	if err := s.AddRemote(d, RemoteSource{Ref: "127.0.0.1:5000/cache", Size: int64(len(data)), Image: "app:1"}); err != nil {
		t.Fatal(err)
	}
	s.SetRemoteFetcher(func(context.Context, v1.Hash, RemoteSource) (io.ReadCloser, int64, error) {
		return io.NopCloser(strings.NewReader("tampered")), 8, nil
	})
	_, err := s.Open(d)
	if err == nil {
		t.Fatal("Open of a corrupt lazy blob succeeded")
	}
	for _, want := range []string{d.String() + " of app:1 is not local", "127.0.0.1:5000/cache", "digest mismatch", "without --cache-from"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var fe *FetchError
	if errors.As(err, &fe) {
		t.Error("lazy fetch error is a FetchError; a build would drop its --cache-from records for it")
	}
	if s.Has(d) {
		t.Error("corrupt bytes landed in the store")
	}
	if _, ok := s.Remote(d); !ok {
		t.Error("a failed fetch dropped the remote record")
	}
}
