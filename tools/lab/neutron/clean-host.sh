#!/bin/bash
# Remove what the Neutron linuxbridge agent (and lab tests) left on the host, and nothing else:
#   * only neutron-* iptables/ip6tables chains (and the jumps to them) - whole tables are never flushed
#   * only neutron* ebtables chains (and the jumps to them)
#   * only NI* ipsets (the agent's security-group sets)
#   * brq*, vxlan-* and tap* links
# Listings are captured before modifying (nft dumps get "interrupted" if modified mid-listing).
# Used by tools/lab/lab.sh down.  Safe to run when nothing is left.
for ipt in iptables ip6tables; do
  for t in raw mangle nat filter; do
    dump=$($ipt -t $t -S 2>/dev/null) || continue
    jumps=$(grep -E '^-A [A-Za-z0-9_-]+ .*-j neutron-' <<<"$dump" | grep -vE '^-A neutron-' | sed 's/^-A /-D /')
    while read -r r; do [ -n "$r" ] && eval "$ipt -t $t $r"; done <<<"$jumps"
    chains=$(awk '/^-N neutron-/{print $2}' <<<"$dump")
    for c in $chains; do $ipt -t $t -F "$c"; done
    for c in $chains; do $ipt -t $t -X "$c"; done
  done
done
for t in nat filter broute; do
  dump=$(ebtables -t $t -L 2>/dev/null) || continue
  for base in PREROUTING INPUT FORWARD OUTPUT POSTROUTING BROUTING; do
    rules=$(ebtables -t $t -L $base 2>/dev/null | grep -E -- '-j neutron')
    while read -r r; do [ -n "$r" ] && eval "ebtables -t $t -D $base $r"; done <<<"$rules"
  done
  chains=$(awk '/^Bridge chain: neutron/{sub(",","",$3); print $3}' <<<"$dump")
  for c in $chains; do ebtables -t $t -F "$c"; done
  for c in $chains; do ebtables -t $t -X "$c"; done
done
for s in $(ipset list -n 2>/dev/null | grep -E '^NI'); do ipset destroy "$s"; done
for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(brq|vxlan-|tap)'); do
  ip link del "$l" 2>/dev/null
done
exit 0
