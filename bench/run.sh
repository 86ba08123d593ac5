#!/usr/bin/env bash
# iamdb's speed and memory, side by side with the AWS CLI and boto3, in one hyperfine run.
#
#   bash bench/run.sh            # builds the release binary, then measures
#   IAMDB_BIN=/path/iamdb bash bench/run.sh
#   IAMDB_BASELINE=/old/release/iamdb bash bench/run.sh   # adds the old build's rows
#
# What it measures (all print the same kind of token for the same endpoint):
#   empty-rust        a Rust binary whose main does nothing, dynamic glibc as rustc makes it:
#                     the floor for any process, and the goals' reference
#   empty-rust-musl   the same linked like the iamdb binary (static musl)
#   iamdb-hit         iamdb token, served from the kernel keyring
#   iamdb-cold-env    iamdb token PROFILE for a profile with cache = "none": keys in the
#                     environment, a token signed on every call (what a cache miss costs)
#   iamdb-cold-dsql   the same for an Aurora DSQL profile (a week-long token)
#   iamdb-cold-cache  the same for an ElastiCache (Valkey) profile
#   iamdb-cold-role   iamdb token --refresh through an assume-role profile (STS on moto)
#   aws-cli           aws rds generate-db-auth-token
#   boto3             python3 + boto3 generate_db_auth_token
#   ... (baseline)    the same iamdb rows for IAMDB_BASELINE, an older build, in the same run
# Then peak memory (max RSS) of each, task-clock of the iamdb rows through `perf stat` (steadier
# than wall time on a shared machine, when perf is installed), and the results go to
# bench/results.md.
#
# The bench runs in a user namespace of its own: its kernel keyring, files and moto server are
# its own, and the invoking user's keyring and config are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${IAMDB_BENCH_NAMESPACE:-}" ]; then
  need=()
  command -v hyperfine >/dev/null || need+=(hyperfine)
  [ -x /usr/bin/time ] || need+=(time)
  command -v unshare >/dev/null || need+=(util-linux)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  exec env IAMDB_BENCH_NAMESPACE=1 unshare --user --map-root-user bash "$0" "$@"
fi

work=$(mktemp -d /tmp/iamdb-bench.XXXXXX)
trap 'kill ${moto_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# iamdb as the packages build it (static, musl: see the README's "Speed"), with the helper
# (glibc, dynamic) beside it, where iamdb looks for it.
musl=x86_64-unknown-linux-musl
if [ -z "${IAMDB_BIN:-}" ]; then
  rustup target list --installed | grep -qx "$musl" || rustup target add "$musl" >/dev/null
  cargo build --release --locked --quiet -p iamdb --bin iamdb --target "$musl"
  cargo build --release --locked --quiet -p iamdb-credentials
  mkdir -p "$work/bin"
  cp "target/$musl/release/iamdb" target/release/iamdb-credentials "$work/bin/"
  IAMDB_BIN=$work/bin/iamdb
fi

# The floors: an empty Rust program as rustc builds it by default (dynamic glibc), and the
# same program linked the way the iamdb binary is (static musl).
mkdir -p "$work/empty/src"
printf '[package]\nname = "empty"\nversion = "0.0.0"\nedition = "2024"\n[profile.release]\nlto = "thin"\nstrip = true\n' > "$work/empty/Cargo.toml"
echo 'fn main() {}' > "$work/empty/src/main.rs"
cargo build --release --quiet --manifest-path "$work/empty/Cargo.toml" --target-dir "$work/empty/target"
cargo build --release --quiet --manifest-path "$work/empty/Cargo.toml" --target-dir "$work/empty/target" --target "$musl"
EMPTY=$work/empty/target/release/empty
EMPTY_MUSL=$work/empty/target/$musl/release/empty

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done

# Resolve the interpreters before HOME moves: version-manager shims (pyenv) look under HOME.
PY=$(python3 -c 'import sys; print(sys.executable)')
AWSCLI=$(dirname "$PY")/aws
[ -x "$AWSCLI" ] || AWSCLI=$(command -v aws)

host=bench.c9akciq32.eu-west-1.rds.amazonaws.com
export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_RUNTIME_DIR=$work/runtime
mkdir -p "$HOME/.aws" "$XDG_CONFIG_HOME/iamdb" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS=http://127.0.0.1:$port
cat > "$HOME/.aws/config" <<CONF
[profile role]
role_arn = arn:aws:iam::123456789012:role/db-connect
credential_source = Environment
region = eu-west-1
CONF
cat > "$XDG_CONFIG_HOME/iamdb/config.toml" <<CONF
[profiles.bench]
engine = "postgres"
host = "$host"
user = "app"

[profiles.bench-role]
engine = "postgres"
host = "$host"
user = "app"
aws_profile = "role"

[profiles.bench-cold]
engine = "postgres"
host = "$host"
user = "app"
cache = "none"

[profiles.bench-dsql]
host = "abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws"
user = "admin"
expires_in = 604800
cache = "none"

[profiles.bench-cache]
host = "master.bench-rg.abc123.euw1.cache.amazonaws.com"
user = "app"
cache = "none"
CONF
"$IAMDB_BIN" token bench >/dev/null   # warm the cache for the hit case
if [ -n "${IAMDB_BASELINE:-}" ]; then
  # The old build gets profiles of its own, so that each build keeps its own cache entry.
  cat >> "$XDG_CONFIG_HOME/iamdb/config.toml" <<CONF

[profiles.base]
engine = "postgres"
host = "$host"
user = "app"

[profiles.base-cold]
engine = "postgres"
host = "$host"
user = "app"
cache = "none"

[profiles.base-role]
engine = "postgres"
host = "$host"
user = "app"
aws_profile = "role"
CONF
  "$IAMDB_BASELINE" token base >/dev/null
fi

cat > "$work/boto3_token.py" <<PY
import boto3
print(boto3.client("rds", region_name="eu-west-1").generate_db_auth_token("$host", 5432, "app"))
PY
"$PY" "$work/boto3_token.py" >/dev/null   # fails here, with its own message, if boto3 cannot run

names=(empty-rust empty-rust-musl iamdb-hit iamdb-cold-env iamdb-cold-dsql iamdb-cold-cache iamdb-cold-role aws-cli boto3)
cmds=(
  "$EMPTY"
  "$EMPTY_MUSL"
  "$IAMDB_BIN token bench"
  "$IAMDB_BIN token bench-cold"
  "$IAMDB_BIN token bench-dsql"
  "$IAMDB_BIN token bench-cache"
  "$IAMDB_BIN token bench-role --refresh"
  "$AWSCLI rds generate-db-auth-token --hostname $host --port 5432 --username app --region eu-west-1"
  "$PY $work/boto3_token.py"
)
if [ -n "${IAMDB_BASELINE:-}" ]; then
  names+=("iamdb-hit (baseline)" "iamdb-cold-env (baseline)" "iamdb-cold-role (baseline)")
  cmds+=("$IAMDB_BASELINE token base" "$IAMDB_BASELINE token base-cold"
    "$IAMDB_BASELINE token base-role --refresh")
fi
args=()
for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), Linux $(uname -r)"
echo "== iamdb binary: $(du -h "$IAMDB_BIN" | cut -f1)"
[ -n "${IAMDB_BASELINE:-}" ] && echo "== baseline binary: $(du -h "$IAMDB_BASELINE" | cut -f1)"
hyperfine -N --warmup 3 --min-runs 20 --export-markdown "$work/times.md" --export-json "$work/times.json" "${args[@]}"

# Peak memory through GNU time, which forks each command from its own small process: a child
# forked from a big parent (Python, say) inherits the parent's high-water mark at exec.
echo "== peak memory (max RSS over 5 runs)"
printf '| Command | Peak RSS |\n|:---|---:|\n' > "$work/mem.md"
for i in "${!names[@]}"; do
  peak=0
  for _ in 1 2 3 4 5; do
    # shellcheck disable=SC2086
    kb=$(/usr/bin/time -f %M ${cmds[$i]} 2>&1 >/dev/null | tail -1)
    [ "$kb" -gt "$peak" ] && peak=$kb
  done
  mb=$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')
  printf '%-26s %7s MB\n' "${names[$i]}" "$mb"
  printf '| `%s` | %s MB |\n' "${names[$i]}" "$mb" >> "$work/mem.md"
  [ "${names[$i]}" = iamdb-hit ] && hit_rss=$mb
done
echo "== goal: a cache hit's peak RSS ${hit_rss:-?} MB (goal < 3 MB)"

# CPU time of the iamdb rows: perf stat's task-clock, which does not count the time the
# process waits for the CPU. The rows take turns, 8 rounds of 100 runs each, so that a slow
# spell of the machine (CPUID traps to the hypervisor vary) lands on every row alike; the
# table gives the median round and the range.
: > "$work/cpu.md"
if command -v perf >/dev/null && perf stat -e task-clock true 2>/dev/null; then
  echo "== task-clock (perf stat, 8 rounds of 100 runs, rows interleaved)"
  : > "$work/cpu.txt"
  for _ in 1 2 3 4 5 6 7 8; do
    for i in "${!names[@]}"; do
      case "${names[$i]}" in empty-rust*|iamdb-*) ;; *) continue ;; esac
      # shellcheck disable=SC2086
      ms=$(perf stat -x, -e task-clock -r 100 ${cmds[$i]} 2>&1 >/dev/null | awk -F, '/task-clock/ { print $1 }')
      printf '%s\t%s\n' "${names[$i]}" "$ms" >> "$work/cpu.txt"
    done
  done
  "$PY" - "$work/cpu.txt" "$work/cpu.md" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, ms = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append(float(ms))
with open(sys.argv[2], "w") as out:
    out.write("| Command | task-clock median [ms] | rounds' range [ms] |\n|:---|---:|---:|\n")
    for name, v in rows.items():
        print(f"{name:26} {statistics.median(v):.3f} ms  ({min(v):.3f} .. {max(v):.3f})")
        out.write(f"| `{name}` | {statistics.median(v):.3f} | {min(v):.3f} .. {max(v):.3f} |\n")
PY
else
  echo "== task-clock: perf is not installed or not permitted here; skipped"
fi

"$PY" - "$work/times.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
floor = r["empty-rust"]["median"]
hit = r["iamdb-hit"]["median"]
cold = r["iamdb-cold-env"]["median"]
print(f"== goals: hit {hit*1e3:.2f} ms = {hit/floor:.2f}x the empty binary (goal <= 1.1x); "
      f"cold env {cold*1e3:.2f} ms = {cold/floor:.2f}x (goal <= 1.2x)")
PY

{
  echo "# Benchmark results"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), Linux $(uname -r)."
  echo "iamdb $("$IAMDB_BIN" --version | cut -d' ' -f2), release binary $(du -h "$IAMDB_BIN" | cut -f1) ($(stat -c %s "$IAMDB_BIN") bytes); measured $(date -u +%Y-%m-%d) by bench/run.sh."
  if [ -n "${IAMDB_BASELINE:-}" ]; then
    echo "Baseline (rows marked so): $IAMDB_BASELINE, $(du -h "$IAMDB_BASELINE" | cut -f1) ($(stat -c %s "$IAMDB_BASELINE") bytes)."
  fi
  echo
  cat "$work/times.md"
  echo
  cat "$work/mem.md"
  if [ -s "$work/cpu.md" ]; then
    echo
    cat "$work/cpu.md"
  fi
} > bench/results.md
echo "== written to bench/results.md"
