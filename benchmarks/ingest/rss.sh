# benchmarks/ingest/rss.sh (sourced by run.sh and big_body.sh): the workers'
# peak RSS growth over a run.
#
#   rss_begin FILE PID...  note each process's VmRSS and RssAnon, then sample
#                          RssAnon every 100 ms into FILE (VmHWM, the kernel's
#                          high-water mark, covers the total; anonymous memory
#                          has no such mark)
#   rss_end                stop sampling; sets RSS_PEAK_KB (the largest
#                          VmHWM - VmRSS before) and RSS_ANON_KB (the largest
#                          sampled RssAnon - RssAnon before)
# The caller's EXIT trap should call rss_stop, which only stops the sampler.

rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

RSS_SAMPLER=""
declare -A RSS_BASE=() RSS_ANON0=()
RSS_PIDS=""
RSS_FILE=""

rss_begin() {
  RSS_FILE=$1; shift
  RSS_PIDS="$*"
  RSS_BASE=(); RSS_ANON0=()
  local p
  for p in $RSS_PIDS; do RSS_BASE[$p]=$(rss_kb "$p" VmRSS); RSS_ANON0[$p]=$(rss_kb "$p" RssAnon); done
  (while :; do for p in $RSS_PIDS; do echo "$p $(rss_kb "$p" RssAnon)"; done; sleep 0.1; done) > "$RSS_FILE" &
  RSS_SAMPLER=$!
}

rss_stop() {
  if [ -n "$RSS_SAMPLER" ]; then kill "$RSS_SAMPLER" 2>/dev/null || true; fi
  RSS_SAMPLER=""
}

rss_end() {
  rss_stop
  RSS_PEAK_KB=0; RSS_ANON_KB=0
  local p g a
  for p in $RSS_PIDS; do
    g=$(( $(rss_kb "$p" VmHWM) - ${RSS_BASE[$p]} ))
    if [ $g -gt $RSS_PEAK_KB ]; then RSS_PEAK_KB=$g; fi
    a=$(awk -v p="$p" '$1 == p {print $2}' "$RSS_FILE" | sort -n | tail -1)
    g=$(( ${a:-0} - ${RSS_ANON0[$p]} ))
    if [ $g -gt $RSS_ANON_KB ]; then RSS_ANON_KB=$g; fi
  done
}
