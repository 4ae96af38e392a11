package runner

import "golang.org/x/sys/unix"

const auditArch = unix.AUDIT_ARCH_X86_64

// x32Abi: x86_64 also accepts x32 system calls, numbered from 0x40000000.
const x32Abi = true
