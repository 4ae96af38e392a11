package sbom

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// rpm header tags the scanner reads (rpmtag.h).
const (
	rpmTagName      = 1000
	rpmTagVersion   = 1001
	rpmTagRelease   = 1002
	rpmTagEpoch     = 1003
	rpmTagVendor    = 1011
	rpmTagLicense   = 1014
	rpmTagArch      = 1022
	rpmTagSourceRPM = 1044
)

// rpm header value types.
const (
	rpmInt32       = 4
	rpmString      = 6
	rpmStringArray = 8
	rpmI18NString  = 9
)

var errRPMHeader = errors.New("corrupt rpm header")

// rpmHeader is the tags of one package header that the scanner uses.
type rpmHeader struct {
	Name, Version, Release, Arch, License, Vendor, SourceRPM string
	Epoch                                                    *int32
}

// parseRPMHeader reads a header as the rpm database stores it (without
// the lead magic): index count, data length, 16-byte index entries (tag,
// type, offset, count), then the data store.
func parseRPMHeader(b []byte) (rpmHeader, error) {
	var h rpmHeader
	if len(b) < 8 {
		return h, errRPMHeader
	}
	il := binary.BigEndian.Uint32(b)
	dl := binary.BigEndian.Uint32(b[4:])
	if il > 1<<16 || dl > 256<<20 || 8+int64(il)*16+int64(dl) > int64(len(b)) {
		return h, errRPMHeader
	}
	index := b[8 : 8+il*16]
	data := b[8+il*16 : 8+il*16+dl]
	for i := uint32(0); i < il; i++ {
		e := index[i*16:]
		tag := binary.BigEndian.Uint32(e)
		typ := binary.BigEndian.Uint32(e[4:])
		off := binary.BigEndian.Uint32(e[8:])
		if off >= uint32(len(data)) {
			continue
		}
		var s *string
		switch tag {
		case rpmTagName:
			s = &h.Name
		case rpmTagVersion:
			s = &h.Version
		case rpmTagRelease:
			s = &h.Release
		case rpmTagArch:
			s = &h.Arch
		case rpmTagLicense:
			s = &h.License
		case rpmTagVendor:
			s = &h.Vendor
		case rpmTagSourceRPM:
			s = &h.SourceRPM
		case rpmTagEpoch:
			if typ == rpmInt32 && int(off)+4 <= len(data) {
				v := int32(binary.BigEndian.Uint32(data[off:]))
				h.Epoch = &v
			}
			continue
		default:
			continue
		}
		switch typ {
		case rpmString, rpmStringArray, rpmI18NString: // the first string
			str := data[off:]
			end := bytes.IndexByte(str, 0)
			if end < 0 {
				return h, errRPMHeader
			}
			*s = string(str[:end])
		}
	}
	return h, nil
}
