package oci

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
)

// CRIU's images are a header of two 32-bit magics followed by entries,
// each a 32-bit little-endian length and a protobuf message. A clone
// restores a checkpoint in another sandbox, so the images that name the
// source's identity are rewritten: the user namespace's uid and gid maps
// (UsernsEntry: uid_map = 1, gid_map = 2, each a UidGidExtent of first = 1,
// lower_first = 2, count = 3) and the UTS namespace's host name
// (UtsnsEntry: nodename = 1).
const criuImageHeader = 8

// rewriteCRIUImage applies edit to every entry of the image at path.
func rewriteCRIUImage(path string, edit func([]byte) ([]byte, error)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) < criuImageHeader {
		return fmt.Errorf("%s: too short for a CRIU image", path)
	}
	out := append([]byte(nil), b[:criuImageHeader]...)
	for rest := b[criuImageHeader:]; len(rest) > 0; {
		if len(rest) < 4 {
			return fmt.Errorf("%s: truncated entry", path)
		}
		n := int(binary.LittleEndian.Uint32(rest))
		if len(rest) < 4+n {
			return fmt.Errorf("%s: truncated entry", path)
		}
		msg, err := edit(rest[4 : 4+n])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(len(msg)))
		out = append(out, msg...)
		rest = rest[4+n:]
	}
	return os.WriteFile(path, out, 0o600)
}

// shiftUserns rewrites the user namespace images under images so that
// ids mapped from host uid from map from host uid to instead.
func shiftUserns(images string, from, to uint32) error {
	files, _ := filepath.Glob(filepath.Join(images, "userns-*.img"))
	if len(files) == 0 {
		return fmt.Errorf("no user namespace image in %s", images)
	}
	for _, f := range files {
		err := rewriteCRIUImage(f, func(m []byte) ([]byte, error) {
			return mapFields(m, func(num protowire.Number, v []byte) ([]byte, error) {
				if num != 1 && num != 2 { // uid_map, gid_map
					return nil, nil
				}
				return shiftExtent(v, from, to)
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// shiftExtent moves a UidGidExtent's lower_first from the from range to
// the to range. The extent must lie wholly inside the source's range, so
// that the clone maps nothing but its own.
func shiftExtent(m []byte, from, to uint32) ([]byte, error) {
	var (
		out          []byte
		lower, count uint64
	)
	for len(m) > 0 {
		num, typ, n := protowire.ConsumeTag(m)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m = m[n:]
		if typ != protowire.VarintType {
			return nil, fmt.Errorf("extent field %d is not a varint", num)
		}
		v, n := protowire.ConsumeVarint(m)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m = m[n:]
		switch num {
		case 2: // lower_first
			if v < uint64(from) || v >= uint64(from)+idRange {
				return nil, fmt.Errorf("id map starts at host id %d, outside the source's range from %d", v, from)
			}
			lower = v
			v = v - uint64(from) + uint64(to)
		case 3: // count
			count = v
		}
		out = protowire.AppendTag(out, num, typ)
		out = protowire.AppendVarint(out, v)
	}
	if count > idRange || (lower != 0 && lower+count > uint64(from)+idRange) {
		return nil, fmt.Errorf("id map of %d ids from host id %d runs past the source's range from %d", count, lower, from)
	}
	return out, nil
}

// renameUTS sets the host name in the UTS namespace images under images.
func renameUTS(images, name string) error {
	files, _ := filepath.Glob(filepath.Join(images, "utsns-*.img"))
	for _, f := range files {
		err := rewriteCRIUImage(f, func(m []byte) ([]byte, error) {
			return mapFields(m, func(num protowire.Number, v []byte) ([]byte, error) {
				if num != 1 { // nodename
					return nil, nil
				}
				return []byte(name), nil
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// mapFields copies message m, replacing the value of each
// length-delimited field for which edit returns a non-nil value.
func mapFields(m []byte, edit func(protowire.Number, []byte) ([]byte, error)) ([]byte, error) {
	var out []byte
	for len(m) > 0 {
		num, typ, n := protowire.ConsumeTag(m)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		vlen := protowire.ConsumeFieldValue(num, typ, m[n:])
		if vlen < 0 {
			return nil, protowire.ParseError(vlen)
		}
		field := m[:n+vlen]
		m = m[n+vlen:]
		if typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(field[n:])
			nv, err := edit(num, v)
			if err != nil {
				return nil, err
			}
			if nv != nil {
				out = protowire.AppendTag(out, num, typ)
				out = protowire.AppendBytes(out, nv)
				continue
			}
		}
		out = append(out, field...)
	}
	return out, nil
}
