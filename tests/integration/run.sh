#!/usr/bin/env bash
# run.sh: run every tests/integration/test_*.sh (or those named), then print
# the totals as "integration: N passed, N failed". Each file cleans up its own
# stack; a file that dies without a summary counts as one failure.
set -uo pipefail
cd "$(dirname "$0")"
total_pass=0; total_fail=0; failed_files=()
files=("$@"); [ ${#files[@]} -eq 0 ] && files=(test_*.sh)
for f in "${files[@]}"; do
  echo "== $f"
  out=$(bash "$f" 2>&1); rc=$?
  echo "$out"
  line=$(echo "$out" | grep -E '^[a-z_0-9]+: [0-9]+ passed, [0-9]+ failed$' | tail -n1)
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    fl=$(echo "$line" | sed -E 's/.* ([0-9]+) failed/\1/')
  else
    p=0; fl=1
  fi
  [ $rc -ne 0 ] && [ "$fl" -eq 0 ] && fl=1
  total_pass=$((total_pass + p)); total_fail=$((total_fail + fl))
  [ "$fl" -gt 0 ] && failed_files+=("$f")
done
[ ${#failed_files[@]} -gt 0 ] && echo "failed files: ${failed_files[*]}"
echo "integration: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
