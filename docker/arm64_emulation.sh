#!/bin/sh
# Exit 0 when this machine runs arm64 programs: natively, or through qemu registered with the
# kernel's binfmt_misc with the F flag (the kernel holds qemu open, so containers without any
# qemu inside run too). Otherwise one line saying so and the command that installs it, exit 2.
# BINFMT_ENTRY moves the binfmt_misc entry (the tests point it elsewhere).
entry=${BINFMT_ENTRY:-/proc/sys/fs/binfmt_misc/qemu-aarch64}
[ "$(uname -m)" = aarch64 ] && exit 0
grep -qsx enabled "$entry" && grep -qs '^flags: .*F' "$entry" && exit 0
echo "arm64 emulation missing: no enabled qemu-aarch64 (F flag) in binfmt_misc;" \
  "install it with: sudo apt-get install qemu-user-static binfmt-support" >&2
exit 2
