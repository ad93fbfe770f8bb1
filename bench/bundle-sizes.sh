#!/usr/bin/env bash
# The release bundle's sizes, as `make bench` prints them: what a first visit to `/` or
# `/login` downloads (the main module, its JS and the split loader), then what each page
# loaded on demand adds (its files in the split manifest). Raw, gzip -9 and brotli -q 11.
set -euo pipefail
shopt -s nullglob
pkg=${1:-target/site/pkg}
[ -n "$(echo "$pkg"/latch.*.wasm)" ] || { echo "no release bundle in $pkg (make release)"; exit 1; }
size() { printf '%d %d %d\n' "$(stat -c %s "$1")" "$(gzip -9c "$1" | wc -c)" "$(brotli -c -q 11 "$1" | wc -c)"; }

echo "| file | raw | gzip -9 | brotli -q 11 |"
echo "| --- | ---: | ---: | ---: |"
first=(0 0 0)
for f in "$pkg"/latch.*.wasm "$pkg"/latch.*.js "$pkg"/__wasm_split.*.js "$pkg"/latch.*.css; do
  read -r raw gz br < <(size "$f")
  printf '| %s | %d | %d | %d |\n' "${f##*/}" "$raw" "$gz" "$br"
  case "$f" in *.css) ;; *) first=($((first[0] + raw)) $((first[1] + gz)) $((first[2] + br))) ;; esac
done
printf '| **first load of / and /login (WASM + JS)** | %d | %d | **%d** |\n' "${first[@]}"
echo
echo "4. first-load WASM + JS <= 140 KB brotli: $((first[2] / 1000)) KB, $([ "${first[2]}" -le 140000 ] && echo met || echo NO)"

manifests=("$pkg"/__wasm_split_manifest*.json)
[ ${#manifests[@]} -gt 0 ] || exit 0
manifest=${manifests[0]}
echo
echo "| page loaded on demand | files | brotli -q 11 |"
echo "| --- | ---: | ---: |"
# Each entry: a route's view function and the chunks it needs (shared ones included).
python3 - "$manifest" <<'PY' | while read -r route files; do
import json, sys
for name, files in sorted(json.load(open(sys.argv[1])).items()):
    route = name.strip('_').split('_route_view')[0].replace('_', '-')
    print(route, ' '.join(files))
PY
  total=0; count=0
  for file in $files; do
    total=$((total + $(brotli -c -q 11 "$pkg/$file.wasm" | wc -c))); count=$((count + 1))
  done
  printf '| %s | %d | %d |\n' "$route" "$count" "$total"
done
