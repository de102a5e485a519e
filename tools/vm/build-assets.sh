#!/bin/bash
# tools/vm/build-assets.sh - build skynet's throw-away test VM: kernel + initramfs.
# Adapted from the VM-lab reference scripts (see tools/vm/README.md).
#
# Usage: build-assets.sh            build (or rebuild) the assets
#        build-assets.sh --check    exit 0 if the assets exist and were built from the
#                                   same inputs (script, knobs, libraries), 1 otherwise
#
# Output (in $VMLAB_ASSETS, default /var/cache/skynet-lab/vm/assets -- outside the repo):
#   vmlinuz      stock Debian bookworm kernel (linux-image-amd64 -> linux-image-<ver>-amd64)
#   vmlinux      the same kernel, decompressed (ELF with a PVH entry note): qemu boots it
#                directly, skipping the ~6 s xz self-decompression that bzImage needs under TCG
#   initrd.img   busybox-static + selected kernel modules + host binaries (iproute2,
#                bash, OVS, tcpdump, ...) copied with their shared libraries, plus the shared
#                libraries that the directories in VMLAB_LIB_FOR need (the Python prefix and
#                virtualenv: the files themselves come into the guest over 9p)
#   manifest.txt versions / sizes;  KVER the kernel release;  inputs.sha the input fingerprint
#
# Nothing is installed on the host for the kernel: the .deb is fetched with
# `apt-get download` and unpacked with dpkg-deb --fsys-tarfile | tar under $VMLAB_CACHE, so no
# update-initramfs / grub / /boot hooks run and the host's boot is untouched.
#
# Host requirements: apt-get, dpkg-deb, tar, ldd/ldconfig (libc-bin), kmod (modprobe -d /
# --show-depends, depmod), xz-utils (vmlinux extraction; optional but saves ~6 s per boot).
# Binaries copied into the guest are taken from the HOST (Debian bookworm), so
# install what the guest needs on the host first:
#   apt-get install --no-install-recommends qemu-system-x86 kmod xz-utils iproute2 \
#     iputils-ping openvswitch-switch tcpdump
#
# Env knobs:
#   SKYNET_VM_CACHE  base dir (default /var/cache/skynet-lab/vm): cache/ and assets/ below it
#   VMLAB_CACHE / VMLAB_ASSETS  override the two dirs separately
#   VMLAB_KFLAVOUR   amd64 (default). "cloud-amd64" lacks 9p (CONFIG_NET_9P unset) -> unusable here.
#   VMLAB_EXTRA_BINS extra host commands to copy (space separated names or paths)
#   VMLAB_EXTRA_MODULES extra kernel modules (closure is added automatically)
#   VMLAB_LIB_FOR    directories (space separated) shared into the guest over 9p whose ELF files
#                    (python, *.so) need host libraries: their library closure goes in the initramfs
#   VMLAB_COMPRESS   none (default, fastest boot under TCG) | zstd | gzip
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SKYNET_VM_CACHE=${SKYNET_VM_CACHE:-/var/cache/skynet-lab/vm}
VMLAB_CACHE=${VMLAB_CACHE:-$SKYNET_VM_CACHE/cache}
VMLAB_ASSETS=${VMLAB_ASSETS:-$SKYNET_VM_CACHE/assets}
KFLAVOUR=${VMLAB_KFLAVOUR:-amd64}

# ---------------------------------------------------------------- 0. input fingerprint
# shared libraries needed by the ELF files under VMLAB_LIB_FOR (not under those dirs themselves)
libs_for() {
  local d
  for d in ${VMLAB_LIB_FOR:-}; do
    [ -d "$d" ] || continue
    find "$d" -type f \( -name '*.so' -o -name '*.so.*' -o -path '*/bin/python*' \) 2>/dev/null
  done | { xargs -r ldd 2>/dev/null || true; } | awk '/=> \//{print $3} /^\s*\/[^ ]+ \(/{print $1}' | sort -u |
  while read -r lib; do
    skip=
    for d in ${VMLAB_LIB_FOR:-}; do case $lib in "$d"/*) skip=1;; esac; done
    [ -n "$skip" ] || echo "$lib"
  done
}
LIBS_FOR=$(libs_for)
INPUTS=$( {
  sha256sum < "$0"
  echo "kflavour=$KFLAVOUR compress=${VMLAB_COMPRESS:-none}"
  echo "bins=${VMLAB_EXTRA_BINS:-} modules=${VMLAB_EXTRA_MODULES:-}"
  echo "libs=$LIBS_FOR"
} | sha256sum | cut -d' ' -f1)
if [ "${1:-}" = --check ]; then
  for f in vmlinuz initrd.img KVER inputs.sha; do [ -s "$VMLAB_ASSETS/$f" ] || exit 1; done
  [ "$(cat "$VMLAB_ASSETS/inputs.sha")" = "$INPUTS" ] || exit 1
  exit 0
fi
# Uncompressed is fastest under TCG: the guest kernel needs ~3s to unpack a 21 MB zstd
# initramfs, while qemu loads a 66 MB plain cpio from the host in a fraction of a second.
COMPRESS=${VMLAB_COMPRESS:-none}

t0=$(date +%s.%N)
log() { printf '[build-assets %6.1fs] %s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }

mkdir -p "$VMLAB_CACHE/debs" "$VMLAB_ASSETS"
# host tools: kmod's modprobe/depmod (module closure; busybox modprobe lacks -d/--show-depends),
# xz (PVH vmlinux extraction; busybox xzcat cannot do the kernel's BCJ filter), ldd/ldconfig (libc-bin)
for t in apt-get apt-cache dpkg-deb tar ldd ldconfig; do command -v $t >/dev/null || { echo "build-assets: missing $t" >&2; exit 1; }; done
modprobe --help 2>&1 | grep -q -- --show-depends || { echo "build-assets: need kmod's modprobe (apt-get install kmod)" >&2; exit 1; }
command -v depmod >/dev/null || { echo "build-assets: need depmod (apt-get install kmod)" >&2; exit 1; }
command -v xz >/dev/null || log "WARNING: no xz (apt-get install xz-utils): cannot extract vmlinux, boot will be ~6 s slower"

# ---------------------------------------------------------------- 1. packages
KPKG=$(apt-cache depends "linux-image-$KFLAVOUR" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$KPKG" ]; then
  log "apt-cache knows no linux-image-$KFLAVOUR; running apt-get update"
  apt-get update -qq
  KPKG=$(apt-cache depends "linux-image-$KFLAVOUR" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
KVER=${KPKG#linux-image-}
log "kernel package $KPKG (KVER=$KVER)"
(
  cd "$VMLAB_CACHE/debs"
  need=()
  ls "${KPKG}"_*.deb >/dev/null 2>&1 || need+=("$KPKG")
  ls busybox-static_*.deb >/dev/null 2>&1 || need+=(busybox-static)
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get download ${need[*]}"
    apt-get download -q -o APT::Sandbox::User=root "${need[@]}" >&2
  fi
)
KDEB=$(ls "$VMLAB_CACHE/debs/${KPKG}"_*.deb | head -1)
BBDEB=$(ls "$VMLAB_CACHE/debs/"busybox-static_*.deb | head -1)

KROOT=$VMLAB_CACHE/kernel-$KVER
if [ ! -f "$KROOT/.done" ]; then
  # only the module dirs we draw from (174 MB instead of 400 MB, ~4 s instead of ~8 s);
  # VMLAB_FULL_KTREE=1 unpacks everything (needed for VMLAB_EXTRA_MODULES from other dirs)
  log "unpacking $(basename "$KDEB") (dpkg-deb --fsys-tarfile | tar: no maintainer scripts, host /boot untouched)"
  rm -rf "$KROOT"; mkdir -p "$KROOT"
  if [ "${VMLAB_FULL_KTREE:-0}" = 1 ]; then
    dpkg-deb -x "$KDEB" "$KROOT"
  else
    dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$KROOT" --wildcards './boot/*' './lib/modules/*/modules.*' \
      './lib/modules/*/kernel/net/*' './lib/modules/*/kernel/drivers/net/*' './lib/modules/*/kernel/fs/*' \
      './lib/modules/*/kernel/lib/*' './lib/modules/*/kernel/crypto/*' './lib/modules/*/kernel/arch/*' \
      './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/char/*' './lib/modules/*/kernel/drivers/block/*'
  fi
  depmod -b "$KROOT" "$KVER"
  touch "$KROOT/.done"
fi
BBROOT=$VMLAB_CACHE/busybox
if [ ! -x "$BBROOT/bin/busybox" ]; then
  rm -rf "$BBROOT"; mkdir -p "$BBROOT"; dpkg-deb -x "$BBDEB" "$BBROOT"
fi

# ---------------------------------------------------------------- 2. rootfs skeleton
R=$(mktemp -d "$VMLAB_CACHE/initramfs.XXXXXX")
trap 'rm -rf "$R"' EXIT
log "staging initramfs in $R"
mkdir -p "$R"/usr/{bin,sbin,lib,lib64,local/bin,share} "$R"/{dev,proc,sys,run,tmp,mnt,root,etc,var/log,var/lib,home}
ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
ln -s ../run "$R/var/run"; ln -s ../run/lock "$R/var/lock"
chmod 1777 "$R/tmp"
cp "$BBROOT/bin/busybox" "$R/usr/bin/busybox"

# ---------------------------------------------------------------- 3. host binaries + libs
copy_file() { # copy host path $1 to the same path in $R (dereferenced), once
  local src=$1 dst=$R$1
  [ -e "$dst" ] && return 0
  mkdir -p "$(dirname "$dst")"
  cp -L "$src" "$dst"
}
ELF_LIST=$VMLAB_CACHE/elf.list; : > "$ELF_LIST"
copy_libs_all() { # shared libraries (ldd = transitive closure) + ELF interpreter of every file in ELF_LIST; one ldd run
  local lib real
  sort -u "$ELF_LIST" | xargs -r ldd 2>/dev/null | awk '/=> \//{print $3} /^\s*\/[^ ]+ \(/{print $1}' | sort -u |
  while read -r lib; do copy_lib "$lib"; done
}
copy_lib() { # the library at host path $1 (its real file + the soname path as a symlink)
  local lib=$1 real
  real=$(readlink -f "$lib")
  copy_file "$real"
  # soname path -> real file (symlink, not a second copy)
  if [ "$real" != "$lib" ] && [ ! -e "$R$lib" ] && [ ! -L "$R$lib" ]; then
    mkdir -p "$(dirname "$R$lib")"; ln -s "$real" "$R$lib"
  fi
}
add_cmd() { # add_cmd NAME_OR_PATH: copy the command at its host path (symlinks to multi-call targets kept)
  local c=$1 p real
  if [[ $c == /* ]]; then p=$c; else p=$(command -v "$c" 2>/dev/null || true); fi
  [ -n "$p" ] && [ -e "$p" ] || { echo "  (not on host: $c)" >&2; return 0; }
  real=$(readlink -f "$p")
  copy_file "$real"
  # put the command under /usr/{bin,sbin} with its own name (argv[0] matters for multi-call binaries)
  local dir; dir=$(dirname "$p"); case $dir in /bin) dir=/usr/bin;; /sbin) dir=/usr/sbin;; esac
  if [ "$dir/$(basename "$p")" != "$real" ] && [ ! -e "$R$dir/$(basename "$p")" ]; then
    mkdir -p "$R$dir"; ln -s "$real" "$R$dir/$(basename "$p")"
  fi
  echo "$real" >> "$ELF_LIST"
  echo "$(basename "$p") -> $real" >> "$R/etc/vmlab-bins.txt"
}

# default set: present on the host -> copied, absent -> skipped silently
DEFAULT_BINS="dash bash ip bridge tc ss ethtool ping tcpdump uname nsenter unshare ip6tables iptables iptables-save
 iptables-restore ip6tables-save ip6tables-restore iptables-legacy iptables-nft nft conntrack jq strace
 kmod ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl ovs-appctl ovs-dpctl ovsdb-tool ovsdb-client"
: > "$R/etc/vmlab-bins.txt"
for c in $DEFAULT_BINS ${VMLAB_EXTRA_BINS:-}; do add_cmd "$c"; done

# kmod multi-call symlinks (better modules.dep handling than busybox); busybox fills gaps otherwise
if [ -e "$R/usr/bin/kmod" ]; then
  for m in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf /usr/bin/kmod "$R/usr/sbin/$m"; done
fi
# iptables userspace extensions are dlopen()ed
if [ -d /usr/lib/x86_64-linux-gnu/xtables ] && [ -e "$R/usr/sbin/xtables-nft-multi" -o -e "$R/usr/sbin/xtables-legacy-multi" ]; then
  mkdir -p "$R/usr/lib/x86_64-linux-gnu"
  cp -a /usr/lib/x86_64-linux-gnu/xtables "$R/usr/lib/x86_64-linux-gnu/"
  ls /usr/lib/x86_64-linux-gnu/xtables/*.so >> "$ELF_LIST"
fi
# libraries for the 9p-shared Python prefix / virtualenv (the ELF files stay on the host)
# (ldd of a library lists its dependencies, not itself: copy the libraries, then their closure)
for lib in $LIBS_FOR; do copy_lib "$lib"; echo "$lib" >> "$ELF_LIST"; done
copy_libs_all
# OVS schema + helper
if [ -e "$R/usr/sbin/ovs-vswitchd" ] || [ -e "$R/usr/lib/openvswitch-switch/ovs-vswitchd" ]; then
  mkdir -p "$R/usr/share/openvswitch"
  cp /usr/share/openvswitch/*.ovsschema "$R/usr/share/openvswitch/"
fi
# /bin/sh must NOT be Debian's busybox-static ash: it is built with FEATURE_SH_STANDALONE/
# PREFER_APPLETS, so inside it "ip", "ping", "modprobe"... silently run the busybox applets
# even when /usr/bin/ip is iproute2 (busybox ip has no "netns", no "-d", no "vlan_filtering").
# Use dash (Debian's /bin/sh) or bash; init itself runs under busybox explicitly.
if [ -e "$R/usr/bin/dash" ]; then ln -s dash "$R/usr/bin/sh"
elif [ -e "$R/usr/bin/bash" ]; then ln -s bash "$R/usr/bin/sh"
else log "WARNING: no dash/bash on the host: /bin/sh will be busybox ash (applets shadow real tools)"; fi
# busybox applets for everything not provided by a real binary
for a in $("$R/usr/bin/busybox" --list); do
  [ "$a" = busybox ] && continue
  [ -e "$R/usr/bin/$a" ] || [ -e "$R/usr/sbin/$a" ] || [ -L "$R/usr/bin/$a" ] || [ -L "$R/usr/sbin/$a" ] || ln -s busybox "$R/usr/bin/$a"
done
# ld.so cache so the loader finds the multiarch dirs
mkdir -p "$R/etc/ld.so.conf.d"
cp /etc/ld.so.conf "$R/etc/" 2>/dev/null || echo 'include /etc/ld.so.conf.d/*.conf' > "$R/etc/ld.so.conf"
cp /etc/ld.so.conf.d/*.conf "$R/etc/ld.so.conf.d/" 2>/dev/null || true
ldconfig -r "$R" 2>/dev/null || log "WARNING: ldconfig -r failed"

# minimal /etc
cat > "$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
tcpdump:x:101:101::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat > "$R/etc/group" <<'EOF'
root:x:0:
tcpdump:x:101:
nogroup:x:65534:
EOF
echo "127.0.0.1 localhost vm" > "$R/etc/hosts"
echo "hosts: files" > "$R/etc/nsswitch.conf"
: > "$R/etc/resolv.conf"
cp /etc/protocols /etc/services "$R/etc/" 2>/dev/null || true
[ -d /etc/iproute2 ] && cp -a /etc/iproute2 "$R/etc/" || true
[ -f /usr/share/iproute2/rt_tables ] && { mkdir -p "$R/usr/share/iproute2"; cp -a /usr/share/iproute2/. "$R/usr/share/iproute2/"; } || true

# ---------------------------------------------------------------- 4. kernel modules (closure)
MODS="virtio_pci virtio_blk virtio_console virtio_net 9p 9pnet_virtio overlay
 8021q bridge br_netfilter stp llc dummy veth vxlan macvlan macvtap ipvlan ipvtap geneve vrf bonding team team_mode_activebackup
 tun ifb nlmon wireguard ip_gre ip6_gre gre ipip ip6_tunnel sit fou fou6
 openvswitch vport_vxlan vport_geneve vport_gre nsh
 nf_tables nft_compat nft_chain_nat nft_ct nft_nat nft_masq nft_reject_inet nft_fib_inet nft_fib_ipv4 nft_fib_ipv6 nft_redir nft_limit
 nf_conntrack nf_conntrack_netlink nf_nat ip_tables iptable_filter iptable_nat iptable_mangle iptable_raw
 ip6_tables ip6table_filter ip6table_nat ip6table_mangle ip6table_raw ebtables ebtable_filter ebtable_nat ebtable_broute
 xt_conntrack xt_MASQUERADE xt_comment xt_mark xt_addrtype xt_multiport xt_nat xt_tcpudp xt_set xt_physdev xt_statistic xt_CT xt_NFQUEUE xt_u32 xt_REDIRECT xt_LOG xt_state
 ip_set ip_set_hash_ip ip_set_hash_net ip_set_hash_ipport ip_set_bitmap_port
 sch_ingress sch_htb sch_netem sch_tbf sch_prio sch_fq_codel sch_multiq
 cls_bpf cls_flower cls_u32 cls_matchall cls_basic act_mirred act_vlan act_gact act_bpf act_tunnel_key act_pedit act_csum act_skbedit act_ct
 mpls_router mpls_iptunnel vsock vxlan ${VMLAB_EXTRA_MODULES:-}"
MODDIR=lib/modules/$KVER
mkdir -p "$R/usr/$MODDIR"
: > "$VMLAB_CACHE/mods.list"
for m in $MODS; do
  if ! modprobe -d "$KROOT" -S "$KVER" --show-depends --ignore-install "$m" >> "$VMLAB_CACHE/mods.list" 2>/dev/null; then
    grep -q "^$m\$\|/$m\$" "$KROOT/$MODDIR/modules.builtin" 2>/dev/null || echo "  (module not found: $m)" >&2
  fi
done
awk '$1=="insmod"{print $2}' "$VMLAB_CACHE/mods.list" | sort -u | while read -r ko; do
  rel=${ko#"$KROOT/"}
  mkdir -p "$R/usr/$(dirname "$rel")"
  cp "$ko" "$R/usr/$rel"
done
cp "$KROOT/$MODDIR"/modules.builtin* "$KROOT/$MODDIR"/modules.order "$R/usr/$MODDIR/"
depmod -b "$R/usr" "$KVER"
cp "$KROOT/boot/vmlinuz-$KVER" "$VMLAB_ASSETS/vmlinuz"
# decompressed ELF vmlinux (like scripts/extract-vmlinux); booted via PVH (CONFIG_PVH=y in Debian's kernel)
extract_vmlinux() {
  local img=$1 out=$2 magic off cmd
  for pair in 'fd377a585a00:xz -dc --single-stream' '28b52ffd:zstd -dcq' '1f8b0800:gzip -dc' '02214c18:lz4 -dc'; do
    magic=${pair%%:*}; cmd=${pair#*:}
    command -v "${cmd%% *}" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "$(echo "$magic" | sed 's/../\\x&/g')" "$img" | cut -d: -f1); do
      tail -c +$((off + 1)) "$img" | $cmd > "$out.tmp" 2>/dev/null
      if [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then mv "$out.tmp" "$out"; return 0; fi
    done
  done
  rm -f "$out.tmp"; return 1
}
if extract_vmlinux "$VMLAB_ASSETS/vmlinuz" "$VMLAB_ASSETS/vmlinux"; then
  log "extracted PVH vmlinux ($(stat -c %s "$VMLAB_ASSETS/vmlinux") bytes)"
else
  rm -f "$VMLAB_ASSETS/vmlinux"; log "WARNING: could not extract vmlinux; the VM will boot the (slow) bzImage"
fi

# ---------------------------------------------------------------- 5. /init and helpers
cat > "$R/init" <<'EOF'
#!/usr/bin/busybox sh
# PID 1 of the test VM. Contract with vm-run.sh (host):
#  9p tag "vmrun" -> /run/vmrun : params.sh (VMRUN_SHARE, VMRUN_SCRIPT, VMRUN_CWD), env.sh, args.sh;
#                                 we write exit_code, timing
#  9p tag "host0" -> $VMRUN_SHARE (same absolute path as on the host), read-write
#  9p tags "xshN" -> the extra shares listed in /run/vmrun/shares.txt (TAG MODE PATH)
#  ttyS0 = kernel console (console.log on host)
#  virtio-serial port "vmrun.out" (fallback: console) = script stdout+stderr (output.log on host)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/netns /run/vmrun
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
hostname vm
# busybox applets here: each dynamically linked exec (kmod, iproute2) costs 0.1-0.3 s under TCG
BB=/usr/bin/busybox
$BB ip link set lo up
up() { read -r u _ < /proc/uptime; echo "$u"; }
echo "vmrun-init: userspace up at $(up)s" > /dev/console

$BB modprobe -q virtio_pci; $BB modprobe -q 9pnet_virtio; $BB modprobe -q 9p; $BB modprobe -q virtio_console
# script output channel: virtio-serial port named "vmrun.out" (plain char device, no tty layer,
# fast) if vm-run.sh gave us one, else the console (16550 emulation: ~95 KB/s under TCG,
# one host write() per byte)
OUT=/dev/console
for i in 1 2 3 4 5 6 7 8 9 10; do
  for p in /sys/class/virtio-ports/*; do
    [ -f "$p/name" ] && [ "$(cat "$p/name")" = vmrun.out ] && OUT=/dev/${p##*/}
  done
  [ "$OUT" != /dev/console ] && break
  [ -e /sys/bus/virtio/drivers/virtio_console ] || break
  sleep 0.05
done
fail() { echo "vmrun-init: FATAL: $*" > /dev/console; echo "VMRUN-EXIT: 125" > /dev/console; poweroff -f; reboot -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none vmrun /run/vmrun || fail "cannot mount 9p tag vmrun"
. /run/vmrun/params.sh
[ -n "$VMRUN_SHARE" ] || fail "VMRUN_SHARE unset"
mkdir -p "$VMRUN_SHARE"
# cache mode: with cache=none every page fault of an exec'ed binary is a 9p round trip
# (a 2 MB static Go binary took 1.2 s to start under TCG, 0.1-0.2 s from tmpfs)
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,access=client,posixacl,cache=${VMRUN_9P_CACHE:-loose} host0 "$VMRUN_SHARE" \
  || mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 host0 "$VMRUN_SHARE" || fail "cannot mount 9p tag host0 at $VMRUN_SHARE"
# extra shares (skynet: the Python prefix, the virtualenv, a results dir), same absolute paths:
# lines "TAG MODE PATH" (MODE ro|rw), mounted in order (vm-run.sh sorts parents first)
if [ -f /run/vmrun/shares.txt ]; then
  while read -r tag mode path; do
    [ -n "$tag" ] || continue
    mkdir -p "$path"
    o=trans=virtio,version=9p2000.L,msize=512000,cache=${VMRUN_9P_CACHE:-loose}
    [ "$mode" = ro ] && o=$o,ro
    mount -t 9p -o "$o" "$tag" "$path" || fail "cannot mount 9p tag $tag at $path"
  done < /run/vmrun/shares.txt
fi
[ -f /run/vmrun/env.sh ] && . /run/vmrun/env.sh
export VMRUN_SHARE VMRUN_CTL=/run/vmrun VMRUN_IN_VM=1

[ "$OUT" = /dev/console ] && stty -F $OUT -onlcr 2>/dev/null
echo "$(up)" > /run/vmrun/t_script_start
echo "vmrun-init: starting $VMRUN_SCRIPT at $(up)s" > /dev/console
cd "${VMRUN_CWD:-$VMRUN_SHARE}" || cd /
(
  set --
  [ -f /run/vmrun/args.sh ] && . /run/vmrun/args.sh
  # exec only real executables (#! or ELF): busybox ash would run a shebang-less file itself
  # (ENOEXEC fallback), i.e. under busybox sh whose applets shadow the real tools
  if [ -x "$VMRUN_SCRIPT" ] && { [ "$(head -c 2 "$VMRUN_SCRIPT")" = '#!' ] || [ "$(head -c 4 "$VMRUN_SCRIPT" | tail -c 3)" = ELF ]; }; then
    exec "$VMRUN_SCRIPT" "$@"
  else
    exec /bin/sh "$VMRUN_SCRIPT" "$@"   # absolute path: busybox ash execve()s it -> dash
  fi
) < /dev/null > $OUT 2>&1
rc=$?
echo "$(up)" > /run/vmrun/t_script_end
echo "vmrun-init: script exited rc=$rc at $(up)s" > /dev/console
# stop leftovers (daemons) so that their fds on the output port close before poweroff
if kill -TERM -1 2>/dev/null; then sleep 0.2; kill -KILL -1 2>/dev/null; sleep 0.1; fi
echo "$rc" > /run/vmrun/exit_code
sync
if [ -f /run/vmrun/shares.txt ]; then
  while read -r tag mode path; do [ -n "$path" ] && umount "$path" 2>/dev/null; done < /run/vmrun/shares.txt
fi
umount "$VMRUN_SHARE" 2>/dev/null
umount /run/vmrun 2>/dev/null
echo "VMRUN-EXIT: $rc" > /dev/console
poweroff -f
reboot -f
EOF
chmod 755 "$R/init"

cat > "$R/usr/local/bin/ovs-start" <<'EOF'
#!/bin/sh
# start ovsdb-server + ovs-vswitchd (kernel datapath) inside the VM
set -e
modprobe openvswitch
mkdir -p /etc/openvswitch /run/openvswitch /var/log/openvswitch
[ -f /etc/openvswitch/conf.db ] || ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server /etc/openvswitch/conf.db --remote=punix:/run/openvswitch/db.sock \
  --pidfile=/run/openvswitch/ovsdb-server.pid --detach --log-file=/var/log/openvswitch/ovsdb-server.log
ovs-vsctl --no-wait init
ovs-vswitchd --pidfile=/run/openvswitch/ovs-vswitchd.pid --detach --log-file=/var/log/openvswitch/ovs-vswitchd.log
ovs-vsctl --timeout=30 wait-until Open_vSwitch . || true
EOF
cat > "$R/usr/local/bin/ovs-stop" <<'EOF'
#!/bin/sh
for d in ovs-vswitchd ovsdb-server; do
  [ -f /run/openvswitch/$d.pid ] && kill "$(cat /run/openvswitch/$d.pid)" 2>/dev/null
done
exit 0
EOF
chmod 755 "$R/usr/local/bin/ovs-start" "$R/usr/local/bin/ovs-stop"

# ---------------------------------------------------------------- 6. cpio
log "packing initramfs ($(du -sh "$R" | cut -f1) staged, compression=$COMPRESS)"
CPIO="$BBROOT/bin/busybox cpio -o -H newc -R 0:0"   # busybox cpio: no host cpio package needed
case $COMPRESS in
  zstd) ( cd "$R" && find . | LC_ALL=C sort | $CPIO 2>/dev/null | zstd -q -T0 -10 ) > "$VMLAB_ASSETS/initrd.img.tmp" ;;
  gzip) ( cd "$R" && find . | LC_ALL=C sort | $CPIO 2>/dev/null | gzip -6 ) > "$VMLAB_ASSETS/initrd.img.tmp" ;;
  none) ( cd "$R" && find . | LC_ALL=C sort | $CPIO 2>/dev/null ) > "$VMLAB_ASSETS/initrd.img.tmp" ;;
  *) echo "bad VMLAB_COMPRESS=$COMPRESS" >&2; exit 2 ;;
esac
mv "$VMLAB_ASSETS/initrd.img.tmp" "$VMLAB_ASSETS/initrd.img"
{
  echo "built: $(date -u +%FT%TZ)"
  echo "kernel_package: $KPKG $(dpkg-deb -f "$KDEB" Version)"
  echo "kver: $KVER"
  echo "busybox: $(dpkg-deb -f "$BBDEB" Version)"
  echo "vmlinuz_bytes: $(stat -c %s "$VMLAB_ASSETS/vmlinuz")"
  echo "vmlinux_bytes: $(stat -c %s "$VMLAB_ASSETS/vmlinux" 2>/dev/null || echo none)"
  echo "initrd_bytes: $(stat -c %s "$VMLAB_ASSETS/initrd.img") ($COMPRESS)"
  echo "initrd_staged: $(du -sb "$R" | cut -f1) bytes, $(find "$R" | wc -l) entries"
  echo "modules: $(find "$R/usr/lib/modules" -name '*.ko' | wc -l)"
  echo "binaries:"; sed 's/^/  /' "$R/etc/vmlab-bins.txt"
} > "$VMLAB_ASSETS/manifest.txt"
echo "$KVER" > "$VMLAB_ASSETS/KVER"
echo "$INPUTS" > "$VMLAB_ASSETS/inputs.sha"
log "done: $VMLAB_ASSETS/{vmlinuz,initrd.img} ($(stat -c %s "$VMLAB_ASSETS/initrd.img") bytes initrd)"
