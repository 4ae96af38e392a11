package binfmt

import (
	"encoding/binary"
	"slices"
)

// arch is what gorae knows about one architecture: how to make a program
// for it that only calls exit(0), and the names users install emulation
// under.
type arch struct {
	class   byte // elf.ELFCLASS32 (1) or elf.ELFCLASS64 (2)
	order   binary.AppendByteOrder
	machine uint16 // e_machine
	flags   uint32 // e_flags
	code    []byte // exit(0), little- or big-endian as the machine is
	qemu    string // qemu's name: qemu-NAME-static, Debian's handler qemu-NAME
}

// le32 encodes fixed-width instruction words in little-endian order.
func le32(words ...uint32) []byte {
	var b []byte
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

// arches are the GOARCH names gorae can probe. Each code sequence is the
// machine's exit(0): the syscall number and a zero status in the
// registers its Linux ABI reads them from.
var arches = map[string]arch{
	// mov x0, #0; mov x8, #93 (exit); svc #0
	"arm64": {class: 2, order: binary.LittleEndian, machine: 183, code: le32(0xd2800000, 0xd2800ba8, 0xd4000001), qemu: "aarch64"},
	// mov r0, #0; mov r7, #1 (exit); svc #0 — EABI version 5, soft float
	"arm": {class: 1, order: binary.LittleEndian, machine: 40, flags: 0x05000200, code: le32(0xe3a00000, 0xe3a07001, 0xef000000), qemu: "arm"},
	// li a0, 0; li a7, 93 (exit); ecall
	"riscv64": {class: 2, order: binary.LittleEndian, machine: 243, code: le32(0x00000513, 0x05d00893, 0x00000073), qemu: "riscv64"},
	// li r0, 1 (exit); li r3, 0; sc — ELFv2 ABI, so the entry is code,
	// not a function descriptor
	"ppc64le": {class: 2, order: binary.LittleEndian, machine: 21, flags: 2, code: le32(0x38000001, 0x38600000, 0x44000002), qemu: "ppc64le"},
	// lghi %r2, 0; svc 1 (exit)
	"s390x": {class: 2, order: binary.BigEndian, machine: 22, code: []byte{0xa7, 0x29, 0x00, 0x00, 0x0a, 0x01}, qemu: "s390x"},
	// mov eax, 1 (exit); xor ebx, ebx; int 0x80
	"386": {class: 1, order: binary.LittleEndian, machine: 3, code: []byte{0xb8, 0x01, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80}, qemu: "i386"},
	// mov eax, 60 (exit); xor edi, edi; syscall
	"amd64": {class: 2, order: binary.LittleEndian, machine: 62, code: []byte{0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05}, qemu: "x86_64"},
	// li a0, 0; li v0, 5058 (n64 exit); syscall
	"mips64le": {class: 2, order: binary.LittleEndian, machine: 8, code: le32(0x24040000, 0x240213c2, 0x0000000c), qemu: "mips64el"},
}

// Supported lists the architectures (GOARCH names) Check can probe, sorted.
func Supported() []string {
	out := make([]string, 0, len(arches))
	for a := range arches {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// loadAddr is where the probe is mapped: aligned to 64 KiB, the largest
// page size of the machines above (ppc64le).
const loadAddr = 0x10000000

// program returns a static ELF executable for a: the ELF header, one
// PT_LOAD program header mapping the whole file readable and executable,
// then the code, which is the entry point.
func (a arch) program() []byte {
	ehsize, phsize := 64, 56
	if a.class == 1 {
		ehsize, phsize = 52, 32
	}
	codeOff := ehsize + phsize
	size := uint64(codeOff + len(a.code))
	entry := uint64(loadAddr + codeOff)
	data := byte(1) // ELFDATA2LSB
	if a.order == binary.BigEndian {
		data = 2
	}
	o := a.order
	b := []byte{0x7f, 'E', 'L', 'F', a.class, data, 1 /* EV_CURRENT */, 0 /* ELFOSABI_NONE */, 0, 0, 0, 0, 0, 0, 0, 0}
	b = o.AppendUint16(b, 2) // ET_EXEC
	b = o.AppendUint16(b, a.machine)
	b = o.AppendUint32(b, 1) // EV_CURRENT
	word := func(v uint64) {
		if a.class == 1 {
			b = o.AppendUint32(b, uint32(v))
		} else {
			b = o.AppendUint64(b, v)
		}
	}
	word(entry)
	word(uint64(ehsize)) // e_phoff: right after this header
	word(0)              // e_shoff: no sections
	b = o.AppendUint32(b, a.flags)
	b = o.AppendUint16(b, uint16(ehsize))
	b = o.AppendUint16(b, uint16(phsize))
	b = o.AppendUint16(b, 1) // e_phnum
	b = o.AppendUint16(b, 0) // e_shentsize
	b = o.AppendUint16(b, 0) // e_shnum
	b = o.AppendUint16(b, 0) // e_shstrndx

	const ptLoad, pfRX, align = 1, 5, 0x10000
	b = o.AppendUint32(b, ptLoad)
	if a.class == 1 {
		// Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align
		for _, v := range []uint32{0, loadAddr, loadAddr, uint32(size), uint32(size), pfRX, align} {
			b = o.AppendUint32(b, v)
		}
	} else {
		// Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz, memsz, align
		b = o.AppendUint32(b, pfRX)
		for _, v := range []uint64{0, loadAddr, loadAddr, size, size, align} {
			b = o.AppendUint64(b, v)
		}
	}
	return append(b, a.code...)
}
