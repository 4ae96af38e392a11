package explain

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"

	"github.com/gorae/gorae/ops"
)

// The per-file digests of one step, by source, gzip'd:
//
//	magic ‖ uvarint(sources) ‖ per source: uvarint(files) ‖
//	per file: str(path) ‖ uvarint(mode) ‖ str(value)
//
// where str is uvarint(len) ‖ bytes. 20,000 files take about 1 MB
// before compression; the file is written only when the step's key
// changed.
const explainFilesMagic = "gorae-explain-files/v1\n"

// fileList is one source's hashed files, as *ops.SourceDigest holds them.
type fileList interface {
	Len() int
	All() iter.Seq[ops.FileDigest]
}

// encodeExplainFiles writes the file lists of srcs to w, a record at a
// time: a 300,000-file context is some 30 MB before compression.
func encodeExplainFiles(w io.Writer, srcs []fileList) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	var b []byte
	b = append(b, explainFilesMagic...)
	b = binary.AppendUvarint(b, uint64(len(srcs)))
	for _, files := range srcs {
		b = binary.AppendUvarint(b, uint64(files.Len()))
		for f := range files.All() {
			b = binary.AppendUvarint(b, uint64(len(f.Path)))
			b = append(b, f.Path...)
			b = binary.AppendUvarint(b, uint64(f.Mode))
			b = binary.AppendUvarint(b, uint64(len(f.Value)))
			b = append(b, f.Value...)
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if _, err := bw.Write(b); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

var errExplainFiles = errors.New("not a gorae explain file list")

func decodeExplainFiles(r io.Reader) ([][]ops.FileDigest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(zr)
	magic := make([]byte, len(explainFilesMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != explainFilesMagic {
		return nil, errExplainFiles
	}
	str := func() (string, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return "", err
		}
		if n > 1<<20 {
			return "", errExplainFiles
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return string(b), err
	}
	nsrc, err := binary.ReadUvarint(br)
	if err != nil || nsrc > 1<<16 {
		return nil, errExplainFiles
	}
	out := make([][]ops.FileDigest, 0, nsrc)
	for range nsrc {
		nf, err := binary.ReadUvarint(br)
		if err != nil || nf > 1<<26 {
			return nil, errExplainFiles
		}
		files := make([]ops.FileDigest, 0, min(nf, 1<<16))
		for range nf {
			var f ops.FileDigest
			if f.Path, err = str(); err != nil {
				return nil, err
			}
			mode, err := binary.ReadUvarint(br)
			if err != nil {
				return nil, err
			}
			f.Mode = fs.FileMode(mode)
			if f.Value, err = str(); err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		out = append(out, files)
	}
	return out, nil
}

func writeExplainFiles(dir, tmp, name string, srcs []*ops.SourceDigest) error {
	lists := make([]fileList, len(srcs))
	for i, s := range srcs {
		lists[i] = s
	}
	err := atomicWrite(dir, tmp, name, func(w io.Writer) error { return encodeExplainFiles(w, lists) })
	if err != nil {
		return fmt.Errorf("save explain file list: %w", err)
	}
	return nil
}

// readExplainFiles reads a file list; a missing or damaged one is
// (nil, err), and the caller falls back to aggregate digests.
func readExplainFiles(path string) ([][]ops.FileDigest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeExplainFiles(f)
}
